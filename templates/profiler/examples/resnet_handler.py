"""A ResNet-50 handler for profiling on a real GPU (torchvision, random weights).

Weights are not downloaded: random initialisation runs the same kernels, so it times the same
as the trained model. Inputs are one preallocated batch on the GPU, so a measurement is the
model's forward pass, not host-to-device copies. On the emulated GPU, `infer` only returns
placeholders (the timing comes from the profile).
"""

import os

BATCH_MAX = int(os.environ.get("RESNET_BATCH_MAX", "64"))
HALF = os.environ.get("RESNET_FP16", "1") == "1"


def load(ctx):
    if ctx.emulated:
        return None
    import torch
    import torchvision

    model = torchvision.models.resnet50(weights=None).to(ctx.device).eval()
    dtype = torch.float16 if HALF else torch.float32
    model = model.to(dtype)
    inputs = torch.randn(BATCH_MAX, 3, 224, 224, device=ctx.device, dtype=dtype)
    return {"model": model, "inputs": inputs}


def preprocess(request):
    return None  # the profiled input is the preallocated batch


def infer(state, items, ctx):
    if state is None:
        return [0] * len(items)
    n = len(items)
    if n > BATCH_MAX:
        raise ValueError(f"batch {n} is larger than RESNET_BATCH_MAX={BATCH_MAX}")
    logits = state["model"](state["inputs"][:n])
    return logits.argmax(dim=1).tolist()


def postprocess(output):
    return {"class": output}


def example_request():
    return b"{}"
