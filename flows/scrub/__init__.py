"""Personal-data scrubbing (LGPD): the declared policy, detectors and pseudonyms.

``clean, report = scrub_table(dataset, table, key)`` is the one entry point the ingestion
flows call before anything is written to ``trusted/``. The policy is ``policy.toml`` in
this package, checked against the actions and detectors of ``registry.py``;
``docs/personal-data.md`` explains it. The package never imports Prefect: flows publish
the ``ScrubReport`` with their run (``flows.run_artifacts.publish_run``).
"""

from flows.scrub.engine import MASK_TOKEN, scrub_table
from flows.scrub.policy import Policy, PolicyError, load_policy
from flows.scrub.pseudonym import HASH_HEX_CHARS, hmac_hex
from flows.scrub.report import ScrubReport

__all__ = [
    "HASH_HEX_CHARS",
    "MASK_TOKEN",
    "Policy",
    "PolicyError",
    "ScrubReport",
    "hmac_hex",
    "load_policy",
    "scrub_table",
]
