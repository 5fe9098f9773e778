"""A REST server over saved model directories and the attention explorer page (FastAPI + uvicorn).

    from attnkit.serve import create_app, serve, Limits, name_models
    serve(name_models(["runs/dates_bahdanau"]), port=8000, limits=Limits(max_chars=500))
"""

from attnkit.serve.app import ApiError, create_app, name_models, serve
from attnkit.serve.schemas import Limits

__all__ = ["ApiError", "Limits", "create_app", "name_models", "serve"]
