#!/usr/bin/python3
"""PyTorch peer for bench/mf: the biased matrix factorization of algorithm=matrix-factorization,

    r(u, i) = (b_u + b_i + mu) + p_u . q_i
    loss    = mean((r - rating)^2) + lambda * mean(|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)

(the sums in the runtime graph's order, so the first step agrees to float32 rounding), from the
runtime's initial tables, on the same rating batches, with torch.optim.Adam. The tables are plain
tensors indexed by the batch, so their gradients are dense (as nn.Embedding's default) and Adam
updates every row each step, as the runtime's graph does. Driven over stdin/stdout as bench/cnn's peer.

Commands (one JSON object per line):
  {"cmd": "losses", "steps": N, "threads": T}  reset to the initial tables, train N steps, return the losses
  {"cmd": "time", "steps": N, "threads": T}    train N steps, return each step's wall time in seconds
"""
import json
import sys
import time

import numpy as np
import torch

NAMES = ["user_factors", "item_factors", "user_bias", "item_bias"]


def main():
    data_dir = sys.argv[1]
    with open(data_dir + "/mf.json") as f:
        meta = json.load(f)
    model = Model(np.fromfile(data_dir + "/mf.bin", dtype="<f4"), meta)
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        torch.set_num_threads(cmd["threads"])
        if cmd["cmd"] == "losses":
            model.reset()
            print(json.dumps({"losses": [model.step(i) for i in range(cmd["steps"])]}), flush=True)
        elif cmd["cmd"] == "time":
            times = []
            for i in range(cmd["steps"]):
                start = time.perf_counter()
                model.step(i)
                times.append(time.perf_counter() - start)
            print(json.dumps({"times": times}), flush=True)
        else:
            print(json.dumps({"error": "unknown command " + cmd["cmd"]}), flush=True)


class Model:
    def __init__(self, raw, meta):
        self.raw = raw
        self.meta = meta
        self.mean = torch.tensor(meta["global_mean"], dtype=torch.float32)
        self.regularization = torch.tensor(meta["regularization"], dtype=torch.float32)
        self.batches = [(self.tensor(b["user"]).long(), self.tensor(b["item"]).long(), self.tensor(b["rating"])) for b in meta["batches"]]
        self.reset()

    def tensor(self, entry):
        n = int(np.prod(entry["dims"]))
        return torch.from_numpy(self.raw[entry["offset"]:entry["offset"] + n].reshape(entry["dims"]).copy())

    def reset(self):
        self.p = {name: self.tensor(self.meta["tensors"][name]).requires_grad_() for name in NAMES}
        o = self.meta["optimizer"]
        self.optimizer = torch.optim.Adam(self.p.values(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])

    def step(self, i):
        user, item, rating = self.batches[i % len(self.batches)]
        p = self.p
        self.optimizer.zero_grad(set_to_none=True)
        pu, qi, bu, bi = p["user_factors"][user], p["item_factors"][item], p["user_bias"][user], p["item_bias"][item]
        prediction = ((bu + bi) + self.mean) + (pu * qi).sum(1)
        error = prediction - rating
        mse = (error * error).mean()
        penalty = ((pu * pu).sum(1) + (qi * qi).sum(1)) + (bu * bu + bi * bi)
        loss = mse + self.regularization * penalty.mean()
        loss.backward()
        self.optimizer.step()
        return loss.item()


if __name__ == "__main__":
    main()
