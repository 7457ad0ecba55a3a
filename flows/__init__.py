"""Big D: Prefect flows that turn CNPJ, IBGE and partner data into demand intelligence."""

import logging
import os
import sys

# Prefect reads these when it is first imported; the defaults log telemetry errors on an
# offline machine and give the temporary local server too little time to start.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

# Arrow's allocator (mimalloc, read when pyarrow is first imported) keeps freed pages 10 ms
# before giving them back, and with several parse threads freeing at once it held ~50 MB
# more at the peak of a whole `ingest cnpj` (bench_command). Give them back at once.
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")

# Deployed runs add Prefect's run-log handler to the `flows` loggers
# (PREFECT_LOGGING_EXTRA_LOGGERS=flows, prefect.yaml); without a level of their own they
# would inherit the root logger's WARNING and drop every INFO line.
_level = os.environ.get("BIGD_LOG_LEVEL", "INFO").upper()
logging.getLogger("flows").setLevel(
    _level if _level in {"DEBUG", "INFO", "WARNING", "ERROR"} else "INFO"
)

# jsonschema (imported by Prefect) loads the optional `rfc3987_syntax` (pulled in by Jupyter)
# when it is installed, only to check the "iri" string format, which no Big D or Prefect
# schema uses; it builds a grammar at import: 1.1 s of every command's start, measured with
# `python -X importtime -c "import flows.cnpj_flow"`. Marking it absent skips that check.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

__version__ = "0.1.0"
