"""Big D: Prefect flows that turn CNPJ, IBGE and partner data into demand intelligence."""

import os

# Prefect reads these when it is first imported; the defaults log telemetry errors on an
# offline machine and give the temporary local server too little time to start.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

__version__ = "0.1.0"
