"""POST /auth/console-tickets and GET /auth/console-tickets/{ticket}: the console's side of the scan login (no auth)."""

from storeloop.api import created, lambda_handler_for, make_app
from storeloop.schemas.console import ConsoleTicketOut, ConsoleTicketStatusOut
from storeloop.services import console_login
from storeloop.settings import get_settings

app = make_app()


@app.post("/auth/console-tickets", summary="Start a console login: a ticket and its mini-program code",
          tags=["auth"], responses={201: {"description": "the ticket"}})
def create_ticket() -> tuple[ConsoleTicketOut, int]:
    event = app.current_event
    return created(console_login.create_ticket(event.headers.get("User-Agent") or event.headers.get("user-agent"),
                                               event.request_context.identity.source_ip))


@app.get("/auth/console-tickets/<ticket>", summary="Poll a console login (the token comes once)", tags=["auth"])
def poll_ticket(ticket: str) -> ConsoleTicketStatusOut:
    return console_login.poll_ticket(get_settings(), ticket)


lambda_handler = lambda_handler_for(app)
