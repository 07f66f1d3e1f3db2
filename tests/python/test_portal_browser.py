"""The management portal's web interface in a real browser (Debian's Chromium, driven
by Playwright), against the real app, engine, dispatcher and HTTPS receivers.

Each test serves a fresh portal on a loopback port and signs in with its admin key
through the sign-in page. The guide's flow is followed by its names: Webhook URL,
Verify endpoint, Events, Payload configuration, Retry and failure, Save webhook,
Send test event. Screenshots of the main pages, on a desktop and on a phone, are
saved in tests/python/screenshots/.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, expect, sync_playwright

import protekt
from _dispatch_helpers import Answer, ScriptedReceiver, finished_deliveries, wait_for
from _portal_browser_helpers import PortalServer
from protekt.portal import create_app, ensure_admin_key

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"

# How long any one expectation or action in the browser may wait.
BROWSER_TIMEOUT_MS = 5_000
# Verify endpoint and Send test event wait on the receiver and the dispatcher.
DELIVERY_TIMEOUT_MS = 15_000

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

LOOPBACK = ["127.0.0.0/8"]

# The endpoint page's refresh interval in the tests that watch it (`?refresh=`); a
# slower one where a refresh must be told from the next; how long a check that
# nothing is asked waits: longer than either interval.
FAST_REFRESH_S = 0.2
SLOW_REFRESH_S = 1.0
QUIET_S = 1.5
POLL_MS = 20
# The pages of the delivery log hold this many deliveries (LOG_PAGE in endpoint.js).
LOG_PAGE = 20

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"Debian's Chromium ({CHROMIUM}) is not installed"
)

expect.set_options(timeout=BROWSER_TIMEOUT_MS)


@dataclass
class Portal:
    url: str
    admin_key: str
    engine: protekt.Engine


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def portal(tmp_path: Path, ca_file: Path) -> Iterator[Portal]:
    """The portal on a fresh data directory, its dispatcher sending to loopback."""
    data = tmp_path / "portal"
    engine = protekt.Engine(data, allowed_networks=LOOPBACK, ca_file=ca_file)
    try:
        engine.start_dispatcher(allowed_networks=LOOPBACK, ca_file=ca_file)
        admin_key = ensure_admin_key(data)
        assert admin_key is not None
        server = PortalServer(create_app(engine, data_dir=data)).start()
        try:
            yield Portal(server.url, admin_key, engine)
        finally:
            server.close()
    finally:
        engine.stop_dispatcher()
        engine.close()


@pytest.fixture
def receivers(
    tls_for: Callable[..., ssl.SSLContext],
) -> Iterator[Callable[..., ScriptedReceiver]]:
    """Starts HTTPS receivers on loopback (certificates from the test CA); all are
    closed at teardown."""
    started: list[ScriptedReceiver] = []

    def start(default: Answer | None = None) -> ScriptedReceiver:
        receiver = ScriptedReceiver(default=default, tls=tls_for("localhost")).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.close()


@pytest.fixture
def receiver(receivers: Callable[..., ScriptedReceiver]) -> ScriptedReceiver:
    """An HTTPS receiver that answers 200 {"ok":true} to everything."""
    return receivers()


def _open_page(browser: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, base_url=None)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"the page threw: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page; any uncaught error in its scripts fails the test."""
    yield from _open_page(browser, DESKTOP)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized page."""
    yield from _open_page(browser, PHONE)


# ---- steps ---------------------------------------------------------------------------


def sign_in(page: Page, portal: Portal) -> None:
    page.goto(portal.url)
    page.get_by_label("Admin API key").fill(portal.admin_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def active_endpoint(portal: Portal, url: str, **settings: Any) -> protekt.Endpoint:
    """An endpoint made and activated through the engine, for pages about one."""
    settings.setdefault("events", ["user.login.succeeded", "user.login.failed"])
    endpoint = portal.engine.endpoints.create(url=url, **settings)
    return portal.engine.endpoints.save(endpoint.id, skip_verification=True)


def open_endpoint(
    page: Page,
    portal: Portal,
    endpoint: protekt.Endpoint,
    *,
    refresh: float | None = None,
) -> None:
    """Opens the endpoint's page; `refresh` sets its refresh interval in seconds."""
    query = "" if refresh is None else f"?refresh={refresh}"
    page.goto(f"{portal.url}{query}#/endpoints/{endpoint.id}")
    expect(page.get_by_role("heading", name=endpoint.url, level=1)).to_be_visible()


def api_requests(page: Page, path: str) -> list[dict[str, list[str]]]:
    """The queries of the requests the page makes from now on to paths that match
    the regular expression `path`, in order; the list grows as they are made."""
    seen: list[dict[str, list[str]]] = []
    pattern = re.compile(path)

    def record(request: Request) -> None:
        address = urlsplit(request.url)
        if pattern.fullmatch(address.path):
            seen.append(parse_qs(address.query))

    page.on("request", record)
    return seen


def wait_for_requests(
    page: Page,
    requests: list[Any],
    count: int,
    *,
    timeout: float = BROWSER_TIMEOUT_MS / 1000,
) -> None:
    """Waits at most `timeout` seconds until `requests` holds `count` requests. The
    page's events arrive only while Playwright is called: the wait is the page's."""
    deadline = time.monotonic() + timeout
    while len(requests) < count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(requests)} requests, not {count}, in {timeout} s"
            )
        page.wait_for_timeout(POLL_MS)


def asked_nothing_for(page: Page, requests: list[Any], seconds: float) -> bool:
    """Whether `requests` stays as it is for `seconds` (a bounded wait)."""
    before = len(requests)
    page.wait_for_timeout(seconds * 1000)
    return len(requests) == before


SET_VISIBILITY = """(state) => {
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => state,
  });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def fits_width(page: Page) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    )


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll("input, select, button")]
  .filter((c) => c.type !== "hidden")
  .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute("aria-label")
    && !c.getAttribute("aria-labelledby") && !(c.tagName === "BUTTON"
    && c.textContent.trim()))
  .map((c) => c.outerHTML)"""


# ---- signing in ----------------------------------------------------------------------


def test_a_wrong_admin_key_is_refused_on_the_sign_in_page(
    page: Page, portal: Portal
) -> None:
    page.goto(portal.url)
    screenshot(page, "desktop-sign-in")
    key = page.get_by_label("Admin API key")
    key.fill("protekt_admin_not-the-key")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("That key is not valid")
    expect(key).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("link", name="Webhooks")).to_be_hidden()


def test_signing_in_by_keyboard_opens_the_webhooks_page_and_survives_a_reload(
    page: Page, portal: Portal
) -> None:
    page.goto(portal.url)
    expect(page.get_by_label("Admin API key")).to_be_focused()
    page.keyboard.type(portal.admin_key)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Project")).to_contain_text("Webhooks")
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()

    # The session is the cookie; the CSRF token comes back from GET /api/v1/session.
    page.reload()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin API key")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Admin API key")).to_be_visible()


# ---- Create new endpoint -------------------------------------------------------------


def test_the_guide_flow_ends_with_a_test_event_delivered_and_logged(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    sign_in(page, portal)
    page.get_by_role("link", name="Create new endpoint").click()
    expect(page.get_by_role("heading", name="Create new endpoint")).to_be_visible()
    assert page.evaluate(UNLABELLED_CONTROLS) == []

    # The guide's defaults.
    expect(page.get_by_label("JSON", exact=True)).to_be_checked()
    expect(page.get_by_label("Shared secret", exact=True)).to_be_checked()
    expect(page.get_by_label("Max retry attempts")).to_have_value("3")
    expect(page.get_by_label("Retry interval (seconds)")).to_have_value("60")
    save = page.get_by_role("button", name="Save webhook")
    expect(save).to_be_disabled()

    # Webhook URL, then Verify endpoint: status, time and no error.
    page.get_by_label("Webhook URL").fill(receiver.url())
    page.get_by_role("button", name="Verify endpoint").click()
    verification = page.locator(".verification")
    expect(verification).to_contain_text(
        "Verified: the endpoint answered 200.", timeout=DELIVERY_TIMEOUT_MS
    )
    expect(verification).to_contain_text(re.compile(r"Response time\s*\d+ ms"))
    expect(verification).to_contain_text(re.compile(r"Error\s*none"))

    # The secret, once, with a copy button; it signed the challenge.
    secret = page.get_by_label("Signing secret", exact=True).input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    challenge = receiver.received[0]
    protekt.Webhook(secret).verify(challenge.body, challenge.headers)

    # Events, Payload configuration, Retry and failure.
    page.get_by_label("User login success").check()
    page.get_by_label("User login failure").check()
    page.get_by_label("IP address").check()
    page.get_by_label("Device information").check()
    page.get_by_label("Max retry attempts").fill("5")
    page.get_by_label("Retry interval (seconds)").fill("30")
    page.get_by_label("Enable dead-letter queue").check()
    page.get_by_label("Failure notification").fill("ops@example.com")
    screenshot(page, "desktop-create-verified")

    expect(save).to_be_enabled()
    save.click()
    expect(page.get_by_text("Saved: the webhook is active")).to_be_visible()
    [endpoint] = portal.engine.endpoints.list()
    assert endpoint.status == protekt.EndpointStatus.ACTIVE
    assert set(endpoint.events) == {"user.login.succeeded", "user.login.failed"}
    assert endpoint.payload == protekt.Payload(
        "json", frozenset({"user", "ip", "device"})
    )
    assert (endpoint.retry.max_attempts, endpoint.retry.interval) == (5, 30)
    assert endpoint.dead_letter_queue
    assert endpoint.failure_notification == "ops@example.com"

    # Send test event shows the delivery result.
    page.get_by_role("button", name="Send test event").click()
    result = page.locator(".delivery-result")
    expect(result).to_contain_text("Delivered", timeout=DELIVERY_TIMEOUT_MS)
    expect(result.locator("td[data-label=Status]")).to_have_text("200")
    assert receiver.received[-1].headers["webhook-id"]

    # The endpoint page: the delivery log with its attempt, and the chart.
    page.get_by_role("link", name="Open the endpoint page").click()
    expect(page.get_by_role("heading", name=receiver.url(), level=1)).to_be_visible()
    delivery = page.locator("details.delivery").filter(has_text="Test event")
    expect(delivery).to_contain_text("Delivered")
    delivery.locator("summary").click()
    attempt = delivery.locator("table.attempts tbody tr")
    expect(attempt.locator("td[data-label=Status]")).to_have_text("200")
    expect(attempt.locator("td[data-label=Duration]")).to_have_text(
        re.compile(r"\d+ ms")
    )
    expect(attempt.locator("td[data-label='Response excerpt']")).to_have_text(
        '{"ok":true}'
    )
    expect(page.locator("main")).not_to_contain_text("null")
    expect(page.locator(".legend")).to_contain_text("Succeeded (1)")
    expect(page.locator("svg.chart-svg rect.bar-ok")).to_have_count(1)
    screenshot(page, "desktop-endpoint")

    # Shown once: after a reload the page knows the endpoint but not its secret.
    page.reload()
    expect(page.get_by_role("heading", name=receiver.url(), level=1)).to_be_visible()
    assert secret not in page.content()
    page.get_by_role("navigation", name="Project").get_by_role(
        "link", name="Webhooks"
    ).click()
    row = page.locator("table.endpoints tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Active")
    screenshot(page, "desktop-endpoint-list")


def test_save_webhook_is_refused_until_verify_endpoint_has_passed(
    page: Page, portal: Portal, receivers: Callable[..., ScriptedReceiver]
) -> None:
    receiver = receivers(Answer(503, body=b"not yet"))
    sign_in(page, portal)
    page.get_by_role("link", name="Create new endpoint").click()
    page.get_by_label("Webhook URL").fill(receiver.url())
    page.get_by_label("User registration").check()
    save = page.get_by_role("button", name="Save webhook")
    expect(save).to_be_disabled()

    page.get_by_role("button", name="Verify endpoint").click()
    verification = page.locator(".verification")
    expect(verification).to_contain_text(
        "Verification failed", timeout=DELIVERY_TIMEOUT_MS
    )
    expect(verification).to_contain_text(re.compile(r"Status\s*503"))
    expect(save).to_be_disabled()
    [endpoint] = portal.engine.endpoints.list()
    assert endpoint.status == protekt.EndpointStatus.CREATED

    # Once the receiver answers 200, verifying again lets Save webhook through.
    receiver.default = Answer(200)
    page.get_by_role("button", name="Verify endpoint").click()
    expect(verification).to_contain_text("Verified", timeout=DELIVERY_TIMEOUT_MS)
    save.click()
    expect(page.get_by_text("Saved: the webhook is active")).to_be_visible()

    # A changed URL needs verifying again.
    page.get_by_label("Webhook URL").fill(receiver.url("/elsewhere"))
    expect(save).to_be_disabled()
    expect(page.get_by_text("verify the endpoint again")).to_be_visible()


def test_an_api_token_is_shown_once_and_sent_in_the_header_named(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    sign_in(page, portal)
    page.get_by_role("link", name="Create new endpoint").click()
    page.get_by_label("Webhook URL").fill(receiver.url())
    header = page.get_by_label("Header name")
    expect(header).to_be_hidden()
    page.get_by_label("API token", exact=True).check()
    header.fill("X-Protekt-Token")
    page.get_by_role("button", name="Verify endpoint").click()
    expect(page.locator(".verification")).to_contain_text(
        "Verified", timeout=DELIVERY_TIMEOUT_MS
    )

    token = page.get_by_label("API token", exact=True).and_(
        page.locator("input[readonly]")
    )
    value = token.input_value()
    assert value.startswith("prt_")
    assert receiver.received[0].headers["x-protekt-token"] == value

    # Cancel removes the endpoint that Verify endpoint made.
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    assert portal.engine.endpoints.list() == []


def test_api_errors_are_shown_next_to_the_field_they_name(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    sign_in(page, portal)
    page.get_by_role("link", name="Create new endpoint").click()

    url = page.get_by_label("Webhook URL")
    url.fill("http://127.0.0.1:9/hooks")
    page.get_by_role("button", name="Verify endpoint").click()
    url_error = page.locator("[data-error-for=url]")
    expect(url_error).to_contain_text("https")
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_have_attribute(
        "aria-describedby", re.compile(url_error.get_attribute("id") or "-")
    )

    url.fill(receiver.url())
    attempts = page.get_by_label("Max retry attempts")
    attempts.fill("99")
    page.get_by_role("button", name="Verify endpoint").click()
    expect(page.locator("[data-error-for='retry.max_attempts']")).to_contain_text(
        "0 to 50"
    )
    expect(url_error).to_be_hidden()
    expect(attempts).to_be_focused()
    assert portal.engine.endpoints.list() == []


# ---- the endpoint page ---------------------------------------------------------------


def test_a_dead_letter_is_replayed_from_the_endpoint_page(
    page: Page, portal: Portal, receivers: Callable[..., ScriptedReceiver]
) -> None:
    receiver = receivers(Answer(500, body=b'{"error":"receiver down"}'))
    endpoint = active_endpoint(
        portal,
        receiver.url(),
        retry=protekt.Retry(max_attempts=0, interval=1),
        dead_letter_queue=True,
    )
    event = portal.engine.emit("user.login.failed", user={"id": "u_7"})
    [dead] = finished_deliveries(portal.engine, event.id)
    assert dead.status == protekt.DeliveryStatus.DEAD_LETTERED

    sign_in(page, portal)
    open_endpoint(page, portal, endpoint)
    delivery = page.locator("details.delivery").filter(has_text="User login failure")
    expect(delivery).to_contain_text("Dead-lettered")
    delivery.locator("summary").click()
    expect(delivery.locator("td[data-label=Status]")).to_have_text("500")
    expect(delivery.locator("td[data-label='Response excerpt']")).to_contain_text(
        "receiver down"
    )
    expect(page.locator(".legend")).to_contain_text("Failed (1)")
    letters = page.locator("li.dead-letter")
    expect(letters).to_have_count(1)
    screenshot(page, "desktop-endpoint-dead-letter")

    receiver.default = Answer(200)
    letters.get_by_role("button", name=re.compile("^Replay")).click()
    expect(page.get_by_text("Replayed: Delivered.")).to_be_visible(
        timeout=DELIVERY_TIMEOUT_MS
    )
    expect(letters).to_have_count(0)
    expect(page.get_by_text("The queue is empty.")).to_be_visible()
    expect(delivery).to_contain_text("Delivered")
    replayed = portal.engine.delivery(event.id, endpoint.id)
    assert replayed.status == protekt.DeliveryStatus.SUCCEEDED


def test_an_endpoint_that_is_not_active_is_verified_and_saved_from_its_page(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = portal.engine.endpoints.create(
        url=receiver.url(), events=["user.registered"]
    )
    sign_in(page, portal)
    open_endpoint(page, portal, endpoint)
    expect(page.locator(".page-head .badge")).to_have_text("Not verified")
    save = page.get_by_role("button", name="Save webhook")
    expect(save).to_be_disabled()
    expect(page.get_by_role("button", name="Send test event")).to_be_disabled()

    page.get_by_role("button", name="Verify endpoint").click()
    expect(page.locator(".verification")).to_contain_text(
        "Verified", timeout=DELIVERY_TIMEOUT_MS
    )
    save.click()
    expect(page.locator(".page-head .badge")).to_have_text("Active")
    expect(page.get_by_role("button", name="Send test event")).to_be_enabled()
    assert portal.engine.endpoints.get(endpoint.id).status == "active"


def test_pause_resume_and_delete_with_confirmation(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = active_endpoint(portal, receiver.url())
    sign_in(page, portal)
    open_endpoint(page, portal, endpoint)
    status = page.locator(".page-head .badge")

    page.get_by_role("button", name="Pause").click()
    expect(status).to_have_text("Paused")
    expect(page.get_by_role("button", name="Send test event")).to_be_disabled()
    assert portal.engine.endpoints.get(endpoint.id).status == "paused"
    page.get_by_role("button", name="Resume").click()
    expect(status).to_have_text("Active")
    assert portal.engine.endpoints.get(endpoint.id).status == "active"

    # Cancel keeps it; Escape too; confirming deletes it.
    page.get_by_role("button", name="Delete endpoint").click()
    dialog = page.get_by_role("dialog", name="Delete this endpoint?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Delete endpoint").click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert len(portal.engine.endpoints.list()) == 1

    page.get_by_role("button", name="Delete endpoint").click()
    dialog.get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    assert portal.engine.endpoints.list() == []


def test_rotate_secret_shows_the_new_secret_once(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = active_endpoint(portal, receiver.url())
    sign_in(page, portal)
    open_endpoint(page, portal, endpoint)

    page.get_by_role("button", name="Rotate secret").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate secret").click()
    shown = page.get_by_label("Signing secret", exact=True).input_value()
    rotated = portal.engine.endpoints.get(endpoint.id)
    assert shown == rotated.secret
    assert shown != endpoint.secret
    assert endpoint.secret in rotated.previous_secrets


def test_settings_are_changed_from_the_endpoint_page(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = active_endpoint(portal, receiver.url())
    sign_in(page, portal)
    open_endpoint(page, portal, endpoint)

    settings = page.locator("form.endpoint-form")
    settings.get_by_label("Session termination").check()
    settings.get_by_label("Form", exact=True).check()
    settings.get_by_label("Retry interval (seconds)").fill("0")
    settings.get_by_role("button", name="Save changes").click()
    expect(settings.locator("[data-error-for='retry.interval']")).to_be_visible()

    settings.get_by_label("Retry interval (seconds)").fill("120")
    settings.get_by_role("button", name="Save changes").click()
    expect(settings.get_by_text("Saved.")).to_be_visible()
    changed = portal.engine.endpoints.get(endpoint.id)
    assert "user.session.ended" in changed.events
    assert changed.payload.format == "form"
    assert changed.retry.interval == 120
    assert changed.status == protekt.EndpointStatus.ACTIVE


def test_text_from_the_api_is_shown_as_text_never_as_markup(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    markup = '<img src="x" onerror="window.injected = 1"><b>bold</b>'
    endpoint = active_endpoint(portal, receiver.url(), description=markup)
    sign_in(page, portal)
    expect(page.get_by_text(markup)).to_be_visible()
    open_endpoint(page, portal, endpoint)
    expect(page.get_by_text(markup)).to_be_visible()
    assert page.locator("main img, main b").count() == 0
    assert page.evaluate("window.injected") is None


# ---- the endpoint page refreshing by itself ------------------------------------------


def test_a_delivery_made_while_the_endpoint_page_is_open_appears_without_a_reload(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = active_endpoint(portal, receiver.url())
    sign_in(page, portal)
    open_endpoint(page, portal, endpoint, refresh=FAST_REFRESH_S)
    expect(page.get_by_text("No deliveries yet.")).to_be_visible()
    expect(page.locator(".freshness")).to_contain_text("Updated")
    page.evaluate("window.sameDocument = true")

    first = portal.engine.emit("user.login.succeeded", user={"id": "u_1"})
    finished_deliveries(portal.engine, first.id)
    deliveries = page.locator("details.delivery")
    expect(deliveries).to_have_count(1)
    expect(deliveries).to_contain_text("Delivered")
    expect(page.locator(".stats")).to_contain_text(re.compile(r"Deliveries\s*1"))
    expect(page.locator(".legend")).to_contain_text("Succeeded (1)")

    # A delivery the reader opened stays open when the next one comes in.
    deliveries.first.locator("summary").click()
    second = portal.engine.emit("user.login.failed", user={"id": "u_2"})
    finished_deliveries(portal.engine, second.id)
    expect(deliveries).to_have_count(2)
    expect(deliveries.first).to_contain_text("User login failure")
    opened = page.locator("details.delivery[open]")
    expect(opened).to_have_count(1)
    expect(opened).to_contain_text("User login success")
    expect(opened.locator("td[data-label=Status]")).to_have_text("200")
    assert page.evaluate("window.sameDocument") is True


def test_a_status_changed_elsewhere_shows_on_the_open_endpoint_page(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = active_endpoint(portal, receiver.url())
    sign_in(page, portal)
    open_endpoint(page, portal, endpoint, refresh=FAST_REFRESH_S)
    status = page.locator(".page-head .badge")
    expect(status).to_have_text("Active")

    portal.engine.endpoints.pause(endpoint.id)

    expect(status).to_have_text("Paused")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    expect(page.get_by_role("button", name="Send test event")).to_be_disabled()


def test_the_endpoint_page_refreshes_only_while_visible_and_stops_when_left(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = active_endpoint(portal, receiver.url())
    sign_in(page, portal)
    stats = api_requests(page, rf"/api/v1/endpoints/{endpoint.id}/stats")
    open_endpoint(page, portal, endpoint, refresh=SLOW_REFRESH_S)
    wait_for_requests(page, stats, 2)  # shown, then refreshed

    # Hidden, it asks nothing; shown again, it refreshes at once, well before its
    # interval could have come round.
    page.evaluate(SET_VISIBILITY, "hidden")
    page.wait_for_timeout(POLL_MS)
    assert asked_nothing_for(page, stats, QUIET_S)
    hidden = len(stats)
    page.evaluate(SET_VISIBILITY, "visible")
    wait_for_requests(page, stats, hidden + 1, timeout=SLOW_REFRESH_S / 2)

    page.get_by_role("navigation", name="Breadcrumbs").get_by_role(
        "link", name="Webhooks"
    ).click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    page.wait_for_timeout(POLL_MS)
    assert asked_nothing_for(page, stats, QUIET_S)


def test_the_endpoint_page_does_not_refresh_behind_an_open_dialog(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = active_endpoint(portal, receiver.url())
    sign_in(page, portal)
    open_endpoint(page, portal, endpoint, refresh=FAST_REFRESH_S)
    expect(page.get_by_text("No deliveries yet.")).to_be_visible()

    page.get_by_role("button", name="Delete endpoint").click()
    dialog = page.get_by_role("dialog", name="Delete this endpoint?")
    expect(dialog).to_be_visible()
    event = portal.engine.emit("user.login.succeeded", user={"id": "u_1"})
    finished_deliveries(portal.engine, event.id)
    page.wait_for_timeout(QUIET_S * 1000)
    expect(page.get_by_text("No deliveries yet.")).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()

    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("details.delivery")).to_contain_text("Delivered")


def test_a_failed_refresh_is_said_once_quietly_and_cleared_by_the_next(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = active_endpoint(portal, receiver.url())
    sign_in(page, portal)
    open_endpoint(page, portal, endpoint, refresh=FAST_REFRESH_S)
    summary = page.locator(".stats")
    expect(summary).to_contain_text(re.compile(r"Deliveries\s*0"))
    freshness = page.locator(".freshness")
    expect(freshness).to_contain_text("Updated")

    # The stats route fails as a closed engine would, a request at a time.
    stats = f"**/api/v1/endpoints/{endpoint.id}/stats"
    asked = api_requests(page, rf"/api/v1/endpoints/{endpoint.id}/stats")
    page.route(
        stats,
        lambda route: route.fulfill(
            status=503,
            json={"error": {"type": "storage", "message": "the disk is full"}},
        ),
    )
    expect(freshness).to_contain_text("Could not refresh (the disk is full)")
    wait_for_requests(page, asked, 3)  # at least two failed
    expect(page.get_by_text("Could not refresh")).to_have_count(1)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(summary).to_contain_text(re.compile(r"Deliveries\s*0"))

    page.unroute(stats)
    expect(freshness).not_to_contain_text("Could not refresh")
    expect(freshness).to_contain_text("Updated")


def test_the_delivery_log_asks_for_each_page_with_its_attempts_in_one_request(
    page: Page, portal: Portal, receiver: ScriptedReceiver
) -> None:
    endpoint = active_endpoint(portal, receiver.url())
    events = [
        portal.engine.emit("user.login.succeeded", user={"id": f"u_{n}"})
        for n in range(LOG_PAGE + 5)
    ]
    for event in events:
        finished_deliveries(portal.engine, event.id)
    sign_in(page, portal)
    pages = api_requests(page, r"/api/v1/deliveries")
    one_by_one = api_requests(page, r"/api/v1/deliveries/[^/]+/[^/]+")

    open_endpoint(page, portal, endpoint, refresh=0)
    deliveries = page.locator("details.delivery")
    expect(deliveries).to_have_count(LOG_PAGE)
    expect(page.locator("details.delivery table.attempts")).to_have_count(LOG_PAGE)
    assert len(pages) == 1
    assert pages[0]["include"] == ["attempts"]
    assert pages[0]["endpoint_id"] == [endpoint.id]

    page.get_by_role("button", name="Load more").click()
    expect(deliveries).to_have_count(LOG_PAGE + 5)
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)
    assert len(pages) == 2
    assert pages[1]["include"] == ["attempts"]
    assert "after" in pages[1]
    assert one_by_one == []

    oldest = deliveries.last
    oldest.locator("summary").click()
    expect(oldest.locator("td[data-label=Status]")).to_have_text("200")
    expect(oldest).to_contain_text(events[0].id)


# ---- a phone -------------------------------------------------------------------------


def test_the_main_pages_fit_a_phone_screen(
    phone: Page, portal: Portal, receivers: Callable[..., ScriptedReceiver]
) -> None:
    receiver = receivers()
    failing = receivers(Answer(500, body=b"down"))
    endpoint = active_endpoint(
        portal, receiver.url(), description="Sign-in alerts for the security team"
    )
    active_endpoint(portal, failing.url(), retry=protekt.Retry(max_attempts=0))
    portal.engine.endpoints.send_test_event(endpoint.id, wait=10)
    event = portal.engine.emit("user.login.failed", user={"id": "u_1"})
    finished_deliveries(portal.engine, event.id)

    phone.goto(portal.url)
    expect(phone.get_by_label("Admin API key")).to_be_visible()
    screenshot(phone, "phone-sign-in")
    assert fits_width(phone)

    sign_in(phone, portal)
    expect(phone.locator("table.endpoints tbody tr")).to_have_count(2)
    screenshot(phone, "phone-endpoint-list")
    assert fits_width(phone)

    phone.get_by_role("link", name="Create new endpoint").click()
    phone.get_by_label("Webhook URL").fill(receiver.url("/second"))
    phone.get_by_role("button", name="Verify endpoint").click()
    expect(phone.locator(".verification")).to_contain_text(
        "Verified", timeout=DELIVERY_TIMEOUT_MS
    )
    screenshot(phone, "phone-create-verified")
    assert fits_width(phone)

    open_endpoint(phone, portal, endpoint)
    delivery = phone.locator("details.delivery").first
    delivery.locator("summary").click()
    expect(delivery.locator("td[data-label=Status]")).to_have_text("200")
    # Two successes: one bar, or two when they straddle the hour.
    expect(phone.locator("svg.chart-svg rect.bar-ok").first).to_be_visible()
    screenshot(phone, "phone-endpoint")
    wait_for(lambda: fits_width(phone), what="the endpoint page fits", timeout=2)
