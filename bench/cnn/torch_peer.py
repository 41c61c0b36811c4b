#!/usr/bin/python3
"""PyTorch peer for bench/cnn: the same CNN (two conv blocks of 3x3 'same' conv + ReLU + 2x2 max
pool, a dense ReLU head; with "batch_norm", Conv2d without bias -> BatchNorm2d in train() mode ->
ReLU -> pool), the same initial weights, the same pixel batches and the same in-step
normalisation as the TypeScript runtime, driven over stdin/stdout as bench/train's peer is.

Commands (one JSON object per line; "case" names one of the configurations in cases.json):
  {"cmd": "losses", "case": C, "steps": N, "threads": T}  reset to the initial weights, train N steps, return the losses
  {"cmd": "time", "case": C, "steps": N, "threads": T}    train N steps, return each step's wall time in seconds
  {"cmd": "statistics", "case": C, "threads": T}         the BatchNorm2d running mean and var now, by the runtime's names
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
        elif cmd["cmd"] == "statistics":
            print(json.dumps({"statistics": case.statistics()}), flush=True)
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
        batch_norm = spec["batch_norm"]
        layers = []
        self.norms = []
        channels = c
        for width in widths:
            layers.append(torch.nn.Conv2d(channels, width, 3, padding="same", bias=not batch_norm))
            if batch_norm:
                self.norms.append(torch.nn.BatchNorm2d(width, momentum=spec["momentum"]))
                layers.append(self.norms[-1])
            layers += [torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            channels = width
            h, w = h // 2, w // 2
        layers += [torch.nn.Flatten(), torch.nn.Linear(channels * h * w, dense), torch.nn.ReLU(), torch.nn.Linear(dense, classes)]
        self.model = torch.nn.Sequential(*layers)
        self.names = spec["parameters"]  # in torch's parameters() order
        self.statistic_names = spec["statistics"]  # running mean, var of each BatchNorm2d in order
        # zip() below would silently drop what does not pair up: a layout mismatch must stop the bench.
        parameters = len(list(self.model.parameters()))
        if parameters != len(self.names) or 2 * len(self.norms) != len(self.statistic_names):
            raise ValueError(f"case {name}: the runtime sent {len(self.names)} parameters and {len(self.statistic_names)} statistics; "
                             f"this network has {parameters} and {2 * len(self.norms)}")
        self.model.train()  # batch statistics in the forward pass, and the running ones updated
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
        for norm in self.norms:
            norm.reset_running_stats()  # mean 0, var 1, as the runtime starts

    def statistics(self):
        buffers = [b for norm in self.norms for b in (norm.running_mean, norm.running_var)]
        return {name: b.tolist() for name, b in zip(self.statistic_names, buffers)}

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
