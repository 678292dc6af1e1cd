"""Is an MPS control daemon serving this machine's GPU?

Without one, CUDA ignores CUDA_MPS_ACTIVE_THREAD_PERCENTAGE and every point would be measured
on the whole GPU, so the harness refuses to measure on a real GPU until MPS is running.
"""

from __future__ import annotations

import shutil
import subprocess


def mps_problem() -> str | None:
    """None when the control daemon answers; otherwise what is wrong and how to fix it."""
    control = shutil.which("nvidia-cuda-mps-control")
    if control is None:
        return "nvidia-cuda-mps-control is not on PATH (it comes with the NVIDIA driver utilities)"
    try:
        r = subprocess.run(
            [control],
            input="get_default_active_thread_percentage\n",
            capture_output=True,
            text=True,
            timeout=10,
        )
    except subprocess.TimeoutExpired:
        return "nvidia-cuda-mps-control did not answer within 10 s"
    answer = r.stdout.strip()
    try:
        float(answer)
    except ValueError:
        return (
            "the MPS control daemon is not running (start it with `nvidia-cuda-mps-control -d`, "
            f"as the GPU's user; it said: {answer or r.stderr.strip() or 'nothing'})"
        )
    return None
