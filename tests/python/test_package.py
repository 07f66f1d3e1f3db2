"""The package as shipped: public names, the exception tree, typing files, stubs."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.resources
import inspect
from typing import NamedTuple

import pytest

import protekt
from protekt import _core

# ---- public names --------------------------------------------------------------------


def test_all_is_sorted() -> None:
    assert protekt.__all__ == sorted(protekt.__all__)


def test_every_name_in_all_exists() -> None:
    missing = [name for name in protekt.__all__ if not hasattr(protekt, name)]

    assert missing == []


def test_every_public_class_and_function_is_in_all() -> None:
    public = {
        name
        for name, value in vars(protekt).items()
        if not name.startswith("_") and (inspect.isclass(value) or callable(value))
    }

    assert public <= set(protekt.__all__)


def test_the_version_is_the_distribution_version() -> None:
    assert protekt.__version__ == importlib.metadata.version("protekt")


# ---- the exception tree --------------------------------------------------------------

TREE = [
    ("ValidationError", "ProtektError"),
    ("InvalidKeyError", "ValidationError"),
    ("CryptoError", "ProtektError"),
    ("WebhookVerificationError", "ProtektError"),
    ("MissingHeaderError", "WebhookVerificationError"),
    ("MalformedHeaderError", "WebhookVerificationError"),
    ("TimestampOutOfToleranceError", "WebhookVerificationError"),
    ("NoMatchingSignatureError", "WebhookVerificationError"),
    ("InvalidTokenError", "WebhookVerificationError"),
    ("MalformedPayloadError", "WebhookVerificationError"),
    ("StorageError", "ProtektError"),
    ("NotFoundError", "ProtektError"),
    ("EngineClosedError", "ProtektError"),
]


@pytest.mark.parametrize(
    ("child", "parent"), [pytest.param(c, p, id=f"{c}-under-{p}") for c, p in TREE]
)
def test_each_exception_sits_under_its_parent(child, parent) -> None:
    assert getattr(protekt, child).__bases__[0] is getattr(protekt, parent)


def test_the_root_is_a_plain_exception() -> None:
    assert protekt.ProtektError.__bases__ == (Exception,)


def test_every_exported_exception_is_in_the_tree() -> None:
    exported = {
        name
        for name in protekt.__all__
        if inspect.isclass(getattr(protekt, name))
        and issubclass(getattr(protekt, name), BaseException)
    }

    assert exported == {child for child, _ in TREE} | {"ProtektError"}


@pytest.mark.parametrize("name", ["ValidationError", "InvalidKeyError"])
def test_refused_arguments_are_also_value_errors(name) -> None:
    assert issubclass(getattr(protekt, name), ValueError)


def test_verification_failures_are_not_value_errors() -> None:
    assert not issubclass(protekt.WebhookVerificationError, ValueError)


def test_a_validation_error_carries_its_field() -> None:
    error = protekt.ValidationError("url must be https", field="url")

    assert error.field == "url"
    assert str(error) == "url must be https"
    assert protekt.ValidationError("no field").field is None


def test_the_core_raises_the_package_classes() -> None:
    with pytest.raises(protekt.InvalidKeyError) as excinfo:
        _core.public_key_of("whsk_short")

    assert type(excinfo.value) is protekt.InvalidKeyError
    assert excinfo.value.field == "key"


# ---- typing files --------------------------------------------------------------------


def test_the_package_ships_py_typed() -> None:
    assert (importlib.resources.files("protekt") / "py.typed").is_file()


# ---- the stub of the extension -------------------------------------------------------


class Surface(NamedTuple):
    """The public names of a module: functions, and each class's members."""

    functions: frozenset[str]
    classes: dict[str, frozenset[str]]


def _is_public(name: str) -> bool:
    return not name.startswith("_")


def _public_defs(body: list[ast.stmt]) -> list[ast.FunctionDef]:
    return [n for n in body if isinstance(n, ast.FunctionDef) and _is_public(n.name)]


def _public_classes(body: list[ast.stmt]) -> list[ast.ClassDef]:
    return [n for n in body if isinstance(n, ast.ClassDef) and _is_public(n.name)]


@pytest.fixture(scope="module")
def stub_tree() -> ast.Module:
    """The installed _core.pyi, parsed."""
    stub = importlib.resources.files("protekt") / "_core.pyi"
    return ast.parse(stub.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def stub(stub_tree) -> Surface:
    """What the stub declares."""
    return Surface(
        functions=frozenset(node.name for node in _public_defs(stub_tree.body)),
        classes={
            node.name: frozenset(member.name for member in _public_defs(node.body))
            for node in _public_classes(stub_tree.body)
        },
    )


@pytest.fixture(scope="module")
def module() -> Surface:
    """What the compiled extension holds."""
    public = {name: value for name, value in vars(_core).items() if _is_public(name)}
    return Surface(
        functions=frozenset(n for n, v in public.items() if inspect.isbuiltin(v)),
        classes={
            name: frozenset(member for member in vars(value) if _is_public(member))
            for name, value in public.items()
            if inspect.isclass(value)
        },
    )


def test_the_stub_ships_with_the_package() -> None:
    assert (importlib.resources.files("protekt") / "_core.pyi").is_file()


def test_the_stub_declares_every_function_of_the_extension_and_no_other(
    stub, module
) -> None:
    assert module.functions
    assert stub.functions == module.functions


def test_the_stub_declares_every_class_of_the_extension_and_no_other(
    stub, module
) -> None:
    assert module.classes
    assert stub.classes.keys() == module.classes.keys()


CORE_CLASSES = sorted(
    name
    for name, value in vars(_core).items()
    if _is_public(name) and inspect.isclass(value)
)


@pytest.mark.parametrize("name", CORE_CLASSES)
def test_the_stub_declares_every_member_of_each_class_and_no_other(
    stub, module, name
) -> None:
    assert stub.classes.get(name) == module.classes[name]


def test_stub_properties_are_properties_in_the_extension(stub_tree) -> None:
    for node in _public_classes(stub_tree.body):
        members = vars(getattr(_core, node.name))
        for method in _public_defs(node.body):
            declared = "property" in {ast.unparse(d) for d in method.decorator_list}
            actual = isinstance(members.get(method.name), property)
            assert declared == actual, f"{node.name}.{method.name}"


def test_every_module_variable_in_the_stub_exists(stub_tree) -> None:
    variables = [
        node.target.id
        for node in stub_tree.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    ]

    assert variables
    assert [name for name in variables if not hasattr(_core, name)] == []
