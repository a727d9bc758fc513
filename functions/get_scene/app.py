"""GET /scenes/{scene}: what a scanned code's scene stands for, a campaign and a source (issue 9)."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.sources import SceneOut
from storeloop.services import sources

app = make_app()


@app.get("/scenes/<scene>", summary="What a scene stands for", tags=["sources"])
def get_scene(scene: str) -> SceneOut:
    current_caller(app)
    return sources.get_scene(scene)


lambda_handler = lambda_handler_for(app)
