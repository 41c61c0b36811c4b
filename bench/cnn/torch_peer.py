#!/usr/bin/python3
"""PyTorch peer for bench/cnn: the same CNN (two conv blocks of 3x3 'same' conv + ReLU + 2x2 max
pool, a dense ReLU head), the same initial weights, the same pixel batches and the same in-step
normalisation as the TypeScript runtime, driven over stdin/stdout as bench/train's peer is.

Commands (one JSON object per line; "case" names one of the configurations in init.json):
  {"cmd": "losses", "case": C, "steps": N, "threads": T}  reset to the initial weights, train N steps, return the losses
  {"cmd": "time", "case": C, "steps": N, "threads": T}    train N steps, return each step's wall time in seconds
"""
import json
import sys
import time

import numpy as np
import torch


def main():
    data_dir = sys.argv[1]
    with open(data_dir + "/cases.json") as f:
        cases = json.load(f)
    models = {name: Case(data_dir, name, spec) for name, spec in cases.items()}
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        torch.set_num_threads(cmd["threads"])
        case = models[cmd["case"]]
        if cmd["cmd"] == "losses":
            case.reset()
            print(json.dumps({"losses": [case.step(i) for i in range(cmd["steps"])]}), flush=True)
        elif cmd["cmd"] == "time":
            times = []
            for i in range(cmd["steps"]):
                start = time.perf_counter()
                case.step(i)
                times.append(time.perf_counter() - start)
            print(json.dumps({"times": times}), flush=True)
        else:
            print(json.dumps({"error": "unknown command " + cmd["cmd"]}), flush=True)


class Case:
    def __init__(self, data_dir, name, spec):
        with open(f"{data_dir}/{name}.json") as f:
            self.meta = json.load(f)
        self.raw = np.fromfile(f"{data_dir}/{name}.bin", dtype="<f4")
        h, w, c = spec["height"], spec["width"], spec["channels"]
        widths, dense, classes = spec["widths"], spec["dense"], spec["classes"]
        layers = []
        channels = c
        for width in widths:
            layers += [torch.nn.Conv2d(channels, width, 3, padding="same"), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            channels = width
            h, w = h // 2, w // 2
        layers += [torch.nn.Flatten(), torch.nn.Linear(channels * h * w, dense), torch.nn.ReLU(), torch.nn.Linear(dense, classes)]
        self.model = torch.nn.Sequential(*layers)
        self.names = spec["parameters"]  # in torch's parameters() order
        self.mean = torch.tensor(spec["mean"], dtype=torch.float32).reshape(1, c, 1, 1)
        self.std = torch.tensor(spec["std"], dtype=torch.float32).reshape(1, c, 1, 1)
        self.batches = [(self.tensor(b["x"]), self.tensor(b["y"]).long()) for b in self.meta["batches"]]
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=spec["learning_rate"])
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.reset()

    def tensor(self, entry):
        n = int(np.prod(entry["dims"]))
        return torch.from_numpy(self.raw[entry["offset"]:entry["offset"] + n].reshape(entry["dims"]).copy())

    def reset(self):
        with torch.no_grad():
            for name, p in zip(self.names, self.model.parameters()):
                p.copy_(self.tensor(self.meta["tensors"][name]))

    def step(self, i):
        pixels, y = self.batches[i % len(self.batches)]
        self.optimizer.zero_grad(set_to_none=True)
        # The runtime's front end, inside its step too: (B, H, W, C) 0..255 -> normalised NCHW.
        x = (pixels.permute(0, 3, 1, 2) / 255.0 - self.mean) / self.std
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


if __name__ == "__main__":
    main()
