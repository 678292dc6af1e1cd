"""Your GPU function. The Dilu runtime calls these; only `infer` is required.

- load(ctx): once at start. Build the model and put it on ctx.device ("cuda" on a GPU). Until it
  returns, /healthz answers 503, so the instance gets no traffic while it loads.
- preprocess(request): per request, on a worker thread: parse and validate the input.
- infer(model, items, ctx): one GPU step over a batch of up to DILU_BATCH preprocessed items;
  return one output per item, in order. Batching and the SM quota are the runtime's job.
- postprocess(output): per request: a dict or list (JSON), str, bytes or dilu_runtime.Response.
- example_request(): a representative request body; the profiler measures with it.

Without a GPU (ctx.emulated), the runtime emulates GPU time from the function's profile
(DILU_PROFILE_FILE) and `infer` runs on the CPU, so the function can be exercised anywhere.
"""

import json

FEATURES = 8
CLASSES = 2


def load(ctx):
    if ctx.emulated:
        return None
    import torch

    # Replace with your model; load weights with torch.load(..., map_location=ctx.device).
    model = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, CLASSES),
    )
    return model.to(ctx.device).eval()


def preprocess(request):
    doc = request.json()
    values = doc.get("input") if isinstance(doc, dict) else None
    if not isinstance(values, list) or len(values) != FEATURES:
        raise ValueError(f'body must be {{"input": [{FEATURES} numbers]}}')
    return [float(v) for v in values]


def infer(model, items, ctx):
    if model is None:
        # Emulated GPU: a CPU stand-in with the same shape of output.
        return [[sum(x) / len(x), max(x)] for x in items]
    import torch

    batch = torch.tensor(items, dtype=torch.float32, device=ctx.device)
    return model(batch).float().cpu().tolist()


def postprocess(output):
    return {"output": output}


def example_request():
    return json.dumps({"input": [0.5] * FEATURES})
