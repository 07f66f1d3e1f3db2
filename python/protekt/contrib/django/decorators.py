"""``webhook_receiver``: the view decorator of a Django endpoint that receives
protekt webhooks."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import JsonResponse  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

from protekt._exceptions import WebhookVerificationError
from protekt._signing import DEFAULT_TOLERANCE
from protekt._token import ApiToken
from protekt.contrib._common import ReceiverCheck, rejection

__all__ = ["webhook_receiver"]

logger = logging.getLogger("protekt.contrib")

View = TypeVar("View", bound=Callable[..., Any])


def webhook_receiver(
    *,
    secret: str | bytes | None = None,
    secrets: Sequence[str | bytes] | None = None,
    token: ApiToken | None = None,
    public_key: str | None = None,
    tolerance: timedelta | int = DEFAULT_TOLERANCE,
) -> Callable[[View], View]:
    """Verifies each request before the view runs, with exactly one of a shared
    ``secret``, ``secrets`` (current first, then those still in rotation), an API
    ``token`` or an Ed25519 ``public_key``.

    A verified request reaches the view with its parsed payload in
    ``request.protekt_event``; any other gets ``400`` and ``{"error": ...,
    "message": ...}`` naming the check that failed. The view is exempt from CSRF,
    since webhooks carry no CSRF token: the signature is their proof.

    >>> @webhook_receiver(secret=settings.PROTEKT_WEBHOOK_SECRET)  # doctest: +SKIP
    ... def hooks(request):
    ...     handle(request.protekt_event)
    ...     return HttpResponse(status=204)
    """
    check = ReceiverCheck(
        secret=secret,
        secrets=secrets,
        token=token,
        public_key=public_key,
        tolerance=tolerance,
    )

    def refused(request: Any) -> JsonResponse | None:
        try:
            request.protekt_event = check.verify(request.body, request.headers)
        except WebhookVerificationError as exc:
            answer = rejection(exc)
            logger.warning("refused a webhook: %s", answer["error"])
            return JsonResponse(answer, status=400)
        return None

    def decorate(view: View) -> View:
        if iscoroutinefunction(view):

            async def receive_async(request: Any, *args: Any, **kwargs: Any) -> Any:
                answer = refused(request)
                if answer is not None:
                    return answer
                return await view(request, *args, **kwargs)

            wrapper = markcoroutinefunction(receive_async)
        else:

            def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
                answer = refused(request)
                if answer is not None:
                    return answer
                return view(request, *args, **kwargs)

        exempt: View = csrf_exempt(functools.wraps(view)(wrapper))
        return exempt

    return decorate
