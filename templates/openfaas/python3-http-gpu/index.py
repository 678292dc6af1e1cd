"""Process that of-watchdog starts (fprocess) and forwards requests to (upstream_url).

It serves function/handler.py with the Dilu runtime on DILU_LISTEN (default 127.0.0.1:5000):
requests are batched to DILU_BATCH, GPU work follows the quota in DILU_QUOTA_FILE, and
/healthz and /metrics are answered by the runtime. Do not edit; change function/handler.py.
"""

from function import handler

from dilu_runtime.serve import serve

if __name__ == "__main__":
    serve(handler)
