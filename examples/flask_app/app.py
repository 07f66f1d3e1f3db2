"""A small Flask app with Flask-Login that emits protekt events on sign-in,
sign-out, a failed sign-in, registration, a password reset request, a second factor
and a re-authentication, and receives them at /hooks through
``protekt.contrib.flask.webhook_receiver``.

Run it with ``flask --app app run`` in this directory (Flask finds ``create_app``);
``flask --app app protekt-worker`` delivers when PROTEKT_DISPATCH is "none". Users
live in memory.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, redirect, request
from flask_login import (
    LoginManager,
    UserMixin,
    confirm_login,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from werkzeug.security import check_password_hash, generate_password_hash

import protekt
from protekt.contrib.flask import Protekt, webhook_receiver

logger = logging.getLogger(__name__)

protekt_ext = Protekt()
login_manager = LoginManager()


class User(UserMixin):
    def __init__(self, id: str, username: str, email: str, name: str) -> None:
        self.id = id
        self.username = username
        self.email = email
        self.name = name
        self.password_hash = ""


class Users:
    """The app's accounts, in memory; guarded by a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, User] = {}

    def add(self, username: str, email: str, name: str, password: str) -> User:
        with self._lock:
            user = User(str(len(self._users) + 1), username, email, name)
            user.password_hash = generate_password_hash(password)
            self._users[user.id] = user
            return user

    def get(self, user_id: str) -> User | None:
        with self._lock:
            return self._users.get(user_id)

    def find(self, **match: str) -> User | None:
        with self._lock:
            for user in self._users.values():
                if all(getattr(user, k) == v for k, v in match.items()):
                    return user
            return None


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    state = Path(
        os.environ.get("EXAMPLE_STATE_DIR")
        or Path(tempfile.gettempdir()) / "protekt-flask-example"
    )
    app.config.update(
        # An example's key; a real app reads its own from the environment.
        SECRET_KEY=os.environ.get("FLASK_SECRET_KEY", "example-app-not-for-production"),
        # protekt: this process delivers too ("thread"), to receivers on this
        # machine; in production leave PROTEKT_DISPATCH out and run
        # `flask --app app protekt-worker` beside the web workers.
        PROTEKT_DATA_DIR=state,
        PROTEKT_DISPATCH="thread",
        PROTEKT_ALLOWED_NETWORKS=["127.0.0.0/8"],
        PROTEKT_CA_FILE=os.environ.get("EXAMPLE_CA_FILE"),
        # The secret of the endpoint that /hooks receives for.
        WEBHOOK_SECRET=os.environ.get("EXAMPLE_WEBHOOK_SECRET")
        or protekt.Webhook.generate_secret(),
        # A stand-in for a real second factor (TOTP, WebAuthn): the code /mfa takes.
        MFA_CODE="424242",
    )
    app.config.update(config or {})
    app.extensions["example_users"] = Users()
    app.extensions["example_received"] = []  # the events /hooks accepted
    login_manager.init_app(app)
    protekt_ext.init_app(app)
    _add_routes(app)
    return app


def users() -> Users:
    found: Users = current_app.extensions["example_users"]
    return found


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return users().get(user_id)


def _add_routes(app: Flask) -> None:
    @app.get("/")
    def home() -> str:
        name = current_user.username if current_user.is_authenticated else "nobody"
        return f"signed in: {name}\n"

    @app.post("/register")
    def register() -> tuple[str, int]:
        form = request.form
        if users().find(username=form["username"]):
            return "taken\n", 409
        user = users().add(
            form["username"], form["email"], form.get("name", ""), form["password"]
        )
        protekt_ext.registered(user)
        return "registered\n", 201

    @app.post("/login")
    def login() -> Any:
        username = request.form.get("username", "")
        user = users().find(username=username)
        password = request.form.get("password", "")
        if user is None or not check_password_hash(user.password_hash, password):
            protekt_ext.login_failed(username)  # the name typed, not the password
            return "wrong username or password\n", 401
        login_user(user)  # Flask-Login's signal emits user.login.succeeded
        return redirect("/")

    @app.post("/logout")
    def logout() -> Any:
        logout_user()  # emits user.session.ended
        return redirect("/")

    @app.post("/reauthenticate")
    @login_required
    def reauthenticate() -> tuple[str, int]:
        if not check_password_hash(
            current_user.password_hash, request.form["password"]
        ):
            return "wrong password\n", 401
        confirm_login()  # emits user.login.succeeded with reauthenticated
        return "confirmed\n", 200

    @app.post("/password-reset")
    def password_reset() -> tuple[str, int]:
        user = users().find(email=request.form["email"])
        if user is not None:
            logger.info("a reset link would be mailed to user %s", user.id)
            protekt_ext.password_reset_requested(user)
        return "if an account has that address, a link is on its way\n", 202

    @app.post("/mfa")
    @login_required
    def mfa() -> tuple[str, int]:
        if request.form.get("code") != current_app.config["MFA_CODE"]:
            return "wrong code\n", 400
        protekt_ext.mfa_completed(current_user, method="totp")
        return "second factor accepted\n", 200

    @app.post("/hooks")
    @webhook_receiver(secret=app.config["WEBHOOK_SECRET"])
    def hooks() -> tuple[str, int]:
        event = g.protekt_event
        current_app.extensions["example_received"].append(event)
        logger.info("received %s (%s)", event["type"], event["id"])
        return "", 204
