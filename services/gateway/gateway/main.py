"""The gateway app as the stack runs it: settings from VERBINDING_* variables."""

from .app import create_app
from .settings import GatewaySettings

app = create_app(GatewaySettings())
