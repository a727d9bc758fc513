"""GET /auth/console-scenes/{scene} and POST .../approve: the mini-program's side of the console scan login."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.console import ConsoleApprovalOut, ConsoleSceneOut
from storeloop.services import console_login

app = make_app()


@app.get("/auth/console-scenes/<scene>", summary="Which browser asks to sign in (the confirm screen)", tags=["auth"])
def describe_scene(scene: str) -> ConsoleSceneOut:
    return console_login.describe_scene(current_caller(app), scene)


@app.post("/auth/console-scenes/<scene>/approve", summary="Approve a console login as the caller", tags=["auth"])
def approve_scene(scene: str) -> ConsoleApprovalOut:
    return console_login.approve_scene(current_caller(app), scene)


lambda_handler = lambda_handler_for(app)
