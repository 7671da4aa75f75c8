"""ASGI app of the reference service with the API key check turned off (wire spec section 8 B).

The stock app has no env switch for this, so the compat harness serves this module with uvicorn:
    uvicorn no_auth_app:app --app-dir tests/compat --host 127.0.0.1 --port PORT
Storage comes from the usual CACHE__SERVICE__* env vars (memory unless told otherwise).
"""
import os

os.environ.setdefault('CACHE__SERVICE__STORAGE_MODE', 'memory')

from mgraph_ai_service_cache.fast_api.Cache_Service__Fast_API import Cache_Service__Fast_API  # noqa: E402

fast_api = Cache_Service__Fast_API()
fast_api.config.enable_api_key = False
fast_api.setup()
app = fast_api.app()
