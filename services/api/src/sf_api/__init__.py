"""The HTTP API and dashboard role: JSON API, pages and live stage changes over one LISTEN connection."""

from sf_api.app import create_app
from sf_api.config import ApiSettings, check_bind, load_api_settings
from sf_api.server import free_port, serve, url_of

__all__ = ["ApiSettings", "check_bind", "create_app", "free_port", "load_api_settings", "serve", "url_of"]
