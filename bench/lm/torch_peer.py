#!/usr/bin/python3
"""PyTorch peer for bench/lm: nanoGPT's GPT (model.py's architecture, its manual attention path,
as PyTorch 1.13 has no scaled_dot_product_attention) with the runtime's initial weights, batches,
learning rates and evaluation windows, driven over stdin/stdout (one JSON command per line) so
the two engines can be timed in interleaved rounds.

GELU is the tanh approximation (the runtime's, GPT-2's); AdamW decays every parameter (the
runtime's optimizer has one weight decay for all), gradients are clipped to norm 1.0 as
nanoGPT's train.py does.

Commands ({"threads": T} in each):
  {"cmd": "reset"}                          back to the initial weights and a fresh AdamW
  {"cmd": "train", "from": S, "steps": N}   N steps on batches S.., returns losses and each step's seconds
  {"cmd": "evaluate"}                       mean loss over the evaluation windows
  {"cmd": "generate", "prompt": [...], "new": N}  greedy generation with a KV cache, batch 1:
                                            the tokens, prefill seconds, seconds for the N - 1 one-token steps
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    """nanoGPT's LayerNorm with an optional bias."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["bias"])
        self.n_head = c["n_head"]
        self.n_embd = c["n_embd"]
        n = c["block_size"]
        self.register_buffer("mask", torch.tril(torch.ones(n, n)).view(1, 1, n, n))

    def forward(self, x, past=None):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        S = k.size(2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, S - T:S, :S] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y), (k, v)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c["n_embd"], c["bias"])
        self.attn = CausalSelfAttention(c)
        self.ln_2 = LayerNorm(c["n_embd"], c["bias"])
        self.mlp = nn.ModuleDict(dict(
            c_fc=nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=c["bias"]),
            c_proj=nn.Linear(4 * c["n_embd"], c["n_embd"], bias=c["bias"]),
        ))

    def forward(self, x, past=None):
        a, present = self.attn(self.ln_1(x), past)
        x = x + a
        x = x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, present


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["block_size"], c["n_embd"])
        self.h = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = LayerNorm(c["n_embd"], c["bias"])
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying

    def forward(self, idx, targets=None, past=None):
        T = idx.size(1)
        start = 0 if past is None else past[0][0].size(2)
        pos = torch.arange(start, start + T, dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        presents = []
        for i, block in enumerate(self.h):
            x, present = block(x, None if past is None else past[i])
            presents.append(present)
        logits = self.lm_head(self.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss, presents


def main():
    data_dir = sys.argv[1]
    with open(data_dir + "/plan.json") as f:
        plan = json.load(f)
    init = np.fromfile(data_dir + "/init.bin", dtype="<f4")
    train = torch.from_numpy(np.fromfile(data_dir + "/train.bin", dtype="<i4").astype(np.int64))
    val = torch.from_numpy(np.fromfile(data_dir + "/val.bin", dtype="<i4").astype(np.int64))
    c = plan["config"]
    T = c["block_size"]
    torch.manual_seed(0)
    model = GPT(c)
    params = dict(model.named_parameters())

    def reset():
        with torch.no_grad():
            for name, entry in plan["tensors"].items():
                n = int(np.prod(entry["dims"]))
                value = torch.from_numpy(init[entry["offset"]:entry["offset"] + n].reshape(entry["dims"]).copy())
                # The runtime stores Linear weights (in, out), as GPT-2's Conv1D; nn.Linear keeps (out, in).
                if entry["linear"]:
                    value = value.t().contiguous()
                params[name].copy_(value)
        o = plan["optimizer"]
        return torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"], weight_decay=o["weight_decay"])

    def window_batch(stream, starts):
        x = torch.stack([stream[s:s + T] for s in starts])
        y = torch.stack([stream[s + 1:s + 1 + T] for s in starts])
        return x, y

    optimizer = reset()
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        torch.set_num_threads(cmd["threads"])
        if cmd["cmd"] == "reset":
            optimizer = reset()
            print(json.dumps({"ok": True}), flush=True)
        elif cmd["cmd"] == "train":
            model.train()
            losses, times = [], []
            for s in range(cmd["from"], cmd["from"] + cmd["steps"]):
                x, y = window_batch(train, plan["batches"][s])
                for group in optimizer.param_groups:
                    group["lr"] = plan["lrs"][s]
                start = time.perf_counter()
                _, loss, _ = model(x, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), plan["optimizer"]["grad_clip"])
                optimizer.step()
                value = loss.item()
                times.append(time.perf_counter() - start)
                losses.append(value)
            print(json.dumps({"losses": losses, "times": times}), flush=True)
        elif cmd["cmd"] == "evaluate":
            model.eval()
            total, count = 0.0, 0
            with torch.no_grad():
                for starts in plan["eval_batches"]:
                    x, y = window_batch(val, starts)
                    _, loss, _ = model(x, y)
                    total += loss.item() * len(starts) * T
                    count += len(starts) * T
            print(json.dumps({"loss": total / count}), flush=True)
        elif cmd["cmd"] == "generate":
            model.eval()
            with torch.no_grad():
                idx = torch.tensor([cmd["prompt"]], dtype=torch.long)
                start = time.perf_counter()
                logits, _, past = model(idx)
                prefill = time.perf_counter() - start
                tokens = [int(torch.argmax(logits[0, -1]).item())]
                start = time.perf_counter()
                for _ in range(cmd["new"] - 1):
                    logits, _, past = model(torch.tensor([[tokens[-1]]], dtype=torch.long), past=past)
                    tokens.append(int(torch.argmax(logits[0, -1]).item()))
                decode = time.perf_counter() - start
            print(json.dumps({"tokens": tokens, "prefill": prefill, "decode": decode}), flush=True)
        else:
            print(json.dumps({"error": "unknown command " + cmd["cmd"]}), flush=True)


if __name__ == "__main__":
    main()
