"""The peer: a SageMaker bring-your-own-container model server as AWS's own BYOC examples build
it (Flask app under gunicorn, model in PyTorch), serving the same MLP with the same weights and
the same JSON contract as modelstack, so the two can be driven by the same requests.

Started by bench.ts as `gunicorn -w WORKERS peer_app:app` with MODEL_WEIGHTS pointing at the
weights bench.ts exported from the modelstack artifact.
"""
import json
import os

import flask
import torch

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))

with open(os.environ["MODEL_WEIGHTS"]) as f:
    spec = json.load(f)

layers = []
for index, layer in enumerate(spec["layers"]):
    weights = torch.tensor(layer["weights"], dtype=torch.float32)  # (in, out)
    linear = torch.nn.Linear(weights.shape[0], weights.shape[1])
    with torch.no_grad():
        linear.weight.copy_(weights.T)
        linear.bias.copy_(torch.tensor(layer["bias"], dtype=torch.float32))
    layers.append(linear)
    if index < len(spec["layers"]) - 1:
        layers.append(torch.nn.ReLU())
layers.append(torch.nn.Softmax(dim=1))
model = torch.nn.Sequential(*layers).eval()
labels = spec["labels"]

app = flask.Flask(__name__)


@app.route("/ping", methods=["GET"])
def ping():
    return flask.Response(response="{}", status=200, mimetype="application/json")


@app.route("/invocations", methods=["POST"])
def invocations():
    if flask.request.content_type != "application/json":
        return flask.Response(response='{"message": "This predictor only supports JSON data"}', status=415, mimetype="application/json")
    payload = json.loads(flask.request.data.decode("utf-8"))
    instances = payload["instances"] if isinstance(payload, dict) else payload
    with torch.inference_mode():
        probabilities = model(torch.tensor(instances, dtype=torch.float32)).tolist()
    predictions = [
        {"label": labels[max(range(len(row)), key=row.__getitem__)], "probabilities": dict(zip(labels, row))}
        for row in probabilities
    ]
    return flask.Response(response=json.dumps({"predictions": predictions}), status=200, mimetype="application/json")
