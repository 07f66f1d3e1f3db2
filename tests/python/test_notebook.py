"""The engine in a notebook: the HTML of the engine, endpoints, deliveries and
attempts (escaped, without secrets, without scripts), the delivery log as a pandas
DataFrame, and examples/notebook.ipynb run from start to end in a real kernel."""

from __future__ import annotations

import dataclasses
import html
import re
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import protekt
from _dispatch_helpers import finished_deliveries
from receivers import Receiver, Reply

NOTEBOOK = Path(__file__).parents[2] / "examples" / "notebook.ipynb"
LOGIN = "user.login.succeeded"
HOSTILE = '<script>alert("x")</script>'

# The longest the example notebook, or any one of its cells, may take.
NOTEBOOK_TIMEOUT_S = 60
CELL_TIMEOUT_S = 30


@pytest.fixture
def needs_pandas() -> None:
    pytest.importorskip("pandas", reason="deliveries_frame needs pandas")


@pytest.fixture
def engine(open_engine: Callable[..., protekt.Engine]) -> protekt.Engine:
    return open_engine(allow_http=True, allowed_networks=["127.0.0.0/8"])


def active(engine: protekt.Engine, url: str, **settings: Any) -> protekt.Endpoint:
    created = engine.endpoints.create(url=url, events=[LOGIN], **settings)
    return engine.endpoints.save(created.id, skip_verification=True)


# What the HTML may hold: plain structure and inline styles, nothing that runs,
# loads or styles anything beyond the fragment itself.
ALLOWED_TAGS = frozenset({"div", "span", "strong", "code", "table", "tr", "th", "td"})
ALLOWED_ATTRIBUTES = frozenset({"class", "style"})


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_safe(markup: str) -> None:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    for tag, attributes in parser.found:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attributes:
            assert name in ALLOWED_ATTRIBUTES, name
            assert "url(" not in (value or ""), value


# ---- the HTML of each object ---------------------------------------------------------


def test_an_endpoint_shows_its_settings_escaped_and_never_its_secret(
    engine: protekt.Engine,
) -> None:
    endpoint = active(
        engine,
        "https://hooks.example.com/in?a=1&b=2",
        description=HOSTILE,
        failure_notification="ops@example.com",
    )
    assert endpoint.secret is not None

    markup = endpoint._repr_html_()

    assert_safe(markup)
    assert html.escape(HOSTILE) in markup
    assert "https://hooks.example.com/in?a=1&amp;b=2" in markup
    assert endpoint.id in markup
    assert "ops@example.com" in markup
    assert endpoint.secret not in markup
    assert endpoint.secret.removeprefix("whsec_") not in markup


def test_a_hostile_url_is_shown_as_text(engine: protekt.Engine) -> None:
    # The engine refuses such a URL; the HTML must not rely on that.
    endpoint = dataclasses.replace(
        active(engine, "https://hooks.example.com/in"),
        url=f'https://hooks.example.com/"><img src=x onerror=alert(1)>{HOSTILE}',
    )

    markup = endpoint._repr_html_()

    assert_safe(markup)
    assert html.escape(endpoint.url) in markup


def test_an_api_token_endpoint_shows_the_header_but_not_the_token(
    engine: protekt.Engine,
) -> None:
    token = protekt.ApiToken()
    endpoint = active(engine, "https://hooks.example.com/in", auth=token)

    markup = endpoint._repr_html_()

    assert "Authorization" in markup
    assert token.token not in markup


def test_a_delivery_and_its_attempts_show_what_happened(
    engine: protekt.Engine, serve: Callable[[Receiver], Receiver]
) -> None:
    receiver = serve(Receiver(reply=Reply(status=500, body=HOSTILE.encode())))
    endpoint = active(
        engine,
        f"http://127.0.0.1:{receiver.port}/hooks",
        retry=protekt.Retry(max_attempts=0),
    )
    event = engine.emit(LOGIN, user={"id": "u_1"})
    assert engine.start_dispatcher(stop_grace=1)

    [delivery] = finished_deliveries(engine, event.id)
    [attempt] = engine.attempts(delivery)
    delivery_markup = delivery._repr_html_()
    attempt_markup = attempt._repr_html_()

    assert_safe(delivery_markup)
    assert delivery.status is protekt.DeliveryStatus.FAILED
    assert event.id in delivery_markup
    assert endpoint.id in delivery_markup
    assert ">failed</span>" in delivery_markup
    assert_safe(attempt_markup)
    assert ">500</span>" in attempt_markup
    assert html.escape(HOSTILE) in attempt_markup


def test_statuses_have_their_own_colours(engine: protekt.Engine) -> None:
    endpoint = active(engine, "https://hooks.example.com/in")
    event = engine.emit(LOGIN, user={"id": "u_1"})
    pending = engine.delivery(event.id, endpoint.id)
    paused = engine.endpoints.pause(endpoint.id)

    colour = re.compile(r"background:(#[0-9a-f]{6})[^>]*>(\w+)</span>")
    shown = {
        status: background
        for markup in (pending._repr_html_(), paused._repr_html_())
        for background, status in colour.findall(markup)
    }

    assert set(shown) == {"pending", "paused"}
    assert shown["pending"] != shown["paused"]


def test_an_engine_shows_its_state_counts_and_endpoints(
    engine: protekt.Engine,
) -> None:
    endpoint = active(engine, "https://hooks.example.com/in", description=HOSTILE)
    engine.emit(LOGIN, user={"id": "u_1"})

    markup = engine._repr_html_()

    assert_safe(markup)
    assert html.escape(engine.path) in markup
    assert ">open</span>" in markup
    assert endpoint.id in markup
    assert "https://hooks.example.com/in" in markup
    assert endpoint.secret is not None
    assert endpoint.secret not in markup


def test_an_engine_with_many_endpoints_lists_some_and_counts_the_rest(
    engine: protekt.Engine,
) -> None:
    from protekt._notebook import MAX_ENDPOINT_ROWS

    for number in range(MAX_ENDPOINT_ROWS + 3):
        engine.endpoints.create(url=f"https://h{number}.example.com/", events=[LOGIN])

    markup = engine._repr_html_()

    assert markup.count("<tr><td") == MAX_ENDPOINT_ROWS
    assert "and 3 more" in markup


def test_a_closed_engine_says_so(engine: protekt.Engine) -> None:
    engine.close()

    markup = engine._repr_html_()

    assert ">closed</span>" in markup


# ---- the delivery log as a DataFrame -------------------------------------------------


@pytest.mark.usefixtures("needs_pandas")
def test_the_delivery_log_becomes_a_typed_data_frame(engine: protekt.Engine) -> None:
    first = active(engine, "https://one.example.com/in")
    second = active(engine, "https://two.example.com/in")
    older = engine.emit(LOGIN, user={"id": "u_1"})
    newer = engine.emit(LOGIN, user={"id": "u_2"})

    frame = engine.deliveries_frame()

    assert list(frame.columns) == [
        "event_id",
        "event_type",
        "endpoint_id",
        "status",
        "attempts",
        "last_status",
        "created_at",
        "next_attempt_at",
        "completed_at",
    ]
    assert list(frame["event_id"]) == [newer.id, newer.id, older.id, older.id]
    assert set(frame["endpoint_id"]) == {first.id, second.id}
    assert set(frame["status"]) == {"pending"}
    assert str(frame["created_at"].dtype).startswith("datetime64")
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert str(frame["last_status"].dtype) == "Int64"
    assert frame["last_status"].isna().all()


@pytest.mark.usefixtures("needs_pandas")
def test_the_data_frame_takes_the_filters_of_the_delivery_log(
    engine: protekt.Engine,
) -> None:
    first = active(engine, "https://one.example.com/in")
    active(engine, "https://two.example.com/in")
    for number in range(5):
        engine.emit(LOGIN, user={"id": f"u_{number}"})

    mine = engine.deliveries_frame(endpoint_id=first.id)
    few = engine.deliveries_frame(limit=3)
    none = engine.deliveries_frame(status="succeeded")

    assert len(mine) == 5
    assert set(mine["endpoint_id"]) == {first.id}
    assert len(few) == 3
    assert none.empty
    assert list(none.columns) == list(mine.columns)


@pytest.mark.usefixtures("needs_pandas")
def test_the_data_frame_reads_the_log_page_by_page_up_to_the_limit(
    engine: protekt.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from protekt import _notebook

    monkeypatch.setattr(_notebook, "FRAME_PAGE_SIZE", 2)
    active(engine, "https://one.example.com/in")
    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(5)]
    newest_first = [event.id for event in reversed(events)]

    assert list(engine.deliveries_frame()["event_id"]) == newest_first
    assert list(engine.deliveries_frame(limit=3)["event_id"]) == newest_first[:3]


@pytest.mark.parametrize("limit", [0, -1, True, 2.5])
def test_the_data_frame_refuses_a_limit_that_is_not_a_positive_int(
    engine: protekt.Engine, limit: Any
) -> None:
    with pytest.raises(protekt.ValidationError) as refused:
        engine.deliveries_frame(limit=limit)

    assert refused.value.field == "limit"


def test_without_pandas_the_data_frame_names_what_to_install(
    engine: protekt.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # what import sees if absent

    with pytest.raises(ImportError, match="pip install pandas"):
        engine.deliveries_frame()


# ---- the example notebook ------------------------------------------------------------


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """examples/notebook.ipynb, run once in a python3 kernel from ipykernel."""
    pytest.importorskip("pandas", reason="the notebook shows a DataFrame")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.manager import KernelManager

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    with pytest.MonkeyPatch.context() as patch:
        # The kernel's connection files go to a temporary directory, and the
        # kernel talks over a local socket file instead of TCP.
        patch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
        patch.setenv("JUPYTER_PLATFORM_DIRS", "1")
        kernel = KernelManager(
            kernel_name="python3", transport="ipc", ip=str(runtime / "kernel")
        )
        client = nbclient.NotebookClient(
            notebook,
            km=kernel,
            timeout=CELL_TIMEOUT_S,
            startup_timeout=NOTEBOOK_TIMEOUT_S,
            resources={"metadata": {"path": str(runtime)}},
        )
        try:
            client.execute(cleanup_kc=True)
        finally:
            if kernel.has_kernel:
                kernel.shutdown_kernel(now=True)
            kernel.cleanup_resources()
    return notebook


def outputs(notebook: Any) -> list[dict[str, Any]]:
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


def html_outputs(notebook: Any) -> list[str]:
    return [
        output["data"]["text/html"]
        for output in outputs(notebook)
        if "text/html" in output.get("data", {})
    ]


def test_the_example_notebook_runs_without_errors(executed: Any) -> None:
    errors = [o for o in outputs(executed) if o["output_type"] == "error"]
    stderr = [o["text"] for o in outputs(executed) if o.get("name") == "stderr"]

    assert errors == []
    assert stderr == []
    assert all(
        cell.get("execution_count")
        for cell in executed.cells
        if cell.cell_type == "code"
    )


def test_the_example_notebook_shows_the_endpoint_delivery_attempt_and_engine(
    executed: Any,
) -> None:
    shown = html_outputs(executed)

    def of(kind: str) -> list[str]:
        return [markup for markup in shown if f'class="protekt-{kind}"' in markup]

    [endpoint] = of("endpoint")
    [delivery] = of("delivery")
    [attempt] = of("attempt")
    open_engine, closed_engine = of("engine")
    assert ">active</span>" in endpoint
    assert ">succeeded</span>" in delivery
    assert ">200</span>" in attempt
    assert ">open</span>" in open_engine
    assert ">closed</span>" in closed_engine


def test_the_example_notebook_shows_the_log_as_a_data_frame(executed: Any) -> None:
    [frame] = [markup for markup in html_outputs(executed) if "dataframe" in markup]

    assert "succeeded" in frame
    assert "user.login.succeeded" in frame


def test_the_example_notebook_shows_no_secret(executed: Any) -> None:
    text = str([output.get("data", output.get("text")) for output in outputs(executed)])

    assert "whsec_" not in text
