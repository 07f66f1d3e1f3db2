"""The example's own views: a home page, registration, a second factor, and the
receiver of the site's webhooks. Sign-in, sign-out and password reset are Django's
own views (urls.py)."""

import logging
import threading

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from protekt.contrib.django import mfa_completed, webhook_receiver

logger = logging.getLogger(__name__)

# The events /hooks/ accepted, oldest first; guarded by _received_lock.
RECEIVED = []
_received_lock = threading.Lock()


def home(request):
    name = request.user.get_username() if request.user.is_authenticated else "nobody"
    return HttpResponse(f"signed in: {name}\n", content_type="text/plain")


def register(request):
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()  # post_save emits user.registered once this commits
        return redirect("login")
    return render(request, "registration/register.html", {"form": form})


@require_POST
@login_required
def mfa(request):
    if request.POST.get("code") != settings.EXAMPLE_MFA_CODE:
        return HttpResponseBadRequest("wrong code\n", content_type="text/plain")
    mfa_completed(request, request.user, method="totp")
    return HttpResponse("second factor accepted\n", content_type="text/plain")


@webhook_receiver(secret=settings.WEBHOOK_SECRET)
def receive(request):
    event = request.protekt_event
    with _received_lock:
        RECEIVED.append(event)
    logger.info("received %s (%s)", event["type"], event["id"])
    return HttpResponse(status=204)
