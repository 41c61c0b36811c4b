#!/usr/bin/python3
"""PyTorch peer for bench/train: the same MLP, the same initial weights and the same batches as
the TypeScript runtime, driven over stdin/stdout (one JSON command per line) so the two can be
timed in interleaved rounds.

Commands:
  {"cmd": "losses", "steps": N, "threads": T}  reset to the initial weights, train N steps, return the losses
  {"cmd": "time", "steps": N, "threads": T}    train N steps, return each step's wall time in seconds
"""
import json
import sys
import time

import numpy as np
import torch


def load(prefix):
    with open(prefix + ".json") as f:
        meta = json.load(f)
    raw = np.fromfile(prefix + ".bin", dtype="<f4")
    return meta, raw


def main():
    data_dir = sys.argv[1]
    init_meta, init_raw = load(data_dir + "/init")
    batch_meta, batch_raw = load(data_dir + "/batches")

    def tensor(meta_entry, raw):
        n = int(np.prod(meta_entry["dims"]))
        return torch.from_numpy(raw[meta_entry["offset"]:meta_entry["offset"] + n].reshape(meta_entry["dims"]).copy())

    sizes = init_meta["layers"]  # e.g. [784, 512, 512, 10]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    names = init_meta["names"]  # weight/bias names in Linear order, PyTorch (out, in) layout

    def reset():
        with torch.no_grad():
            for i, lin in enumerate(linears):
                lin.weight.copy_(tensor(init_meta["tensors"][names[2 * i]], init_raw))
                lin.bias.copy_(tensor(init_meta["tensors"][names[2 * i + 1]], init_raw))

    batches = [(tensor(b["x"], batch_raw), tensor(b["y"], batch_raw).long()) for b in batch_meta["batches"]]
    optimizer = torch.optim.SGD(model.parameters(), lr=init_meta["learning_rate"])
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(i):
        x, y = batches[i % len(batches)]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    reset()
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        torch.set_num_threads(cmd["threads"])
        if cmd["cmd"] == "losses":
            reset()
            print(json.dumps({"losses": [step(i) for i in range(cmd["steps"])]}), flush=True)
        elif cmd["cmd"] == "time":
            times = []
            for i in range(cmd["steps"]):
                start = time.perf_counter()
                step(i)
                times.append(time.perf_counter() - start)
            print(json.dumps({"times": times}), flush=True)
        else:
            print(json.dumps({"error": "unknown command " + cmd["cmd"]}), flush=True)


if __name__ == "__main__":
    main()
