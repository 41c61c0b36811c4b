#!/usr/bin/python3
"""PyTorch peer for bench/transformers: the same two inference graphs as the runtime's, written
nanoGPT style in PyTorch 1.13 on the CPU, with the weights the bench wrote (weights.bin plus
weights.json: offsets in floats; weights are (in, out) as GPT-2's Conv1D keeps them).

- gpt2: GPT-2-small shape, biases, GELU tanh, tied head, its own KV cache (k, v concatenated
  per step, as Hugging Face's GPT-2 does), greedy decoding at batch 1.
- encoder: the runtime's text classifier (models/text-classifier.ts): pre-norm blocks without
  a causal mask, an additive padding mask, mean pooling over the kept tokens, a linear head and
  a softmax over the classes.

Commands, one JSON line each ({"threads": T} in each):
  {"cmd": "generate", "prompt": [...], "new": N}  -> tokens, prefill seconds, decode seconds (N - 1 steps)
  {"cmd": "classify", "ids": [[...]], "repeats": R} -> probabilities of the first run, seconds of each run
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SelfAttention(nn.Module):
    def __init__(self, c, causal):
        super().__init__()
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"])
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"])
        self.n_head = c["n_head"]
        self.n_embd = c["n_embd"]
        self.causal = causal

    def forward(self, x, past=None, mask=None):
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
        if self.causal and T > 1:
            keep = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
            att = att.masked_fill(~keep, float("-inf"))
        if mask is not None:
            att = att + mask  # (B, 1, 1, S): 0 where kept, a large negative number at padding
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y), (k, v)


class Block(nn.Module):
    def __init__(self, c, causal):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c["n_embd"])
        self.attn = SelfAttention(c, causal)
        self.ln_2 = nn.LayerNorm(c["n_embd"])
        self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(c["n_embd"], 4 * c["n_embd"]), c_proj=nn.Linear(4 * c["n_embd"], c["n_embd"])))

    def forward(self, x, past=None, mask=None):
        a, present = self.attn(self.ln_1(x), past, mask)
        x = x + a
        x = x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, present


class Transformer(nn.Module):
    """wte + wpe, the blocks, ln_f; a GPT (tied head) or a mean-pooling classifier."""

    def __init__(self, c, causal):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["block_size"], c["n_embd"])
        self.h = nn.ModuleList([Block(c, causal) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"])
        if not causal:
            self.head = nn.Linear(c["n_embd"], c["classes"])

    def generate_step(self, idx, past=None):
        T = idx.size(1)
        start = 0 if past is None else past[0][0].size(2)
        x = self.wte(idx) + self.wpe(torch.arange(start, start + T, dtype=torch.long))
        presents = []
        for i, block in enumerate(self.h):
            x, present = block(x, None if past is None else past[i])
            presents.append(present)
        # The tied head over the last position only: that is all greedy decoding reads.
        logits = self.ln_f(x[:, -1, :]) @ self.wte.weight.t()
        return logits, presents

    def classify(self, idx, attention_mask):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T, dtype=torch.long))
        keep = attention_mask.to(x.dtype)
        additive = ((1.0 - keep) * -1e9)[:, None, None, :]
        for block in self.h:
            x, _ = block(x, None, additive)
        x = self.ln_f(x)
        pooled = (x * keep[:, :, None]).sum(1) / keep.sum(1, keepdim=True).clamp(min=1.0)
        return F.softmax(self.head(pooled), dim=-1)


def load(model, data_dir):
    with open(data_dir + "/weights.json") as f:
        index = json.load(f)
    flat = np.fromfile(data_dir + "/weights.bin", dtype="<f4")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, entry in index["tensors"].items():
            n = int(np.prod(entry["dims"]))
            value = torch.from_numpy(flat[entry["offset"]:entry["offset"] + n].reshape(entry["dims"]).copy())
            # The runtime keeps linear weights (in, out); nn.Linear keeps (out, in).
            if name.endswith(".weight") and len(entry["dims"]) == 2 and not name.startswith(("wte", "wpe")):
                value = value.t().contiguous()
            params[name].copy_(value)
    missing = set(params) - set(index["tensors"])
    if missing:
        raise ValueError("weights.json lacks " + ", ".join(sorted(missing)))


def main():
    data_dir = sys.argv[1]
    with open(data_dir + "/weights.json") as f:
        config = json.load(f)["config"]
    torch.manual_seed(0)
    model = Transformer(config, causal=config["kind"] == "gpt2")
    load(model, data_dir)
    model.eval()
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        torch.set_num_threads(cmd["threads"])
        with torch.no_grad():
            if cmd["cmd"] == "generate":
                idx = torch.tensor([cmd["prompt"]], dtype=torch.long)
                start = time.perf_counter()
                logits, past = model.generate_step(idx)
                prefill = time.perf_counter() - start
                first_logits = logits[0].tolist()
                tokens = [int(torch.argmax(logits[0]).item())]
                start = time.perf_counter()
                for _ in range(cmd["new"] - 1):
                    logits, past = model.generate_step(torch.tensor([[tokens[-1]]], dtype=torch.long), past)
                    tokens.append(int(torch.argmax(logits[0]).item()))
                decode = time.perf_counter() - start
                top = sorted(range(len(first_logits)), key=lambda i: -first_logits[i])[:8]
                print(json.dumps({"tokens": tokens, "prefill": prefill, "decode": decode, "first_top": [[i, first_logits[i]] for i in top]}), flush=True)
            elif cmd["cmd"] == "classify":
                ids = torch.tensor(cmd["ids"], dtype=torch.long)
                mask = torch.ones_like(ids)
                times, first = [], None
                for _ in range(cmd["repeats"]):
                    start = time.perf_counter()
                    probabilities = model.classify(ids, mask)
                    times.append(time.perf_counter() - start)
                    if first is None:
                        first = probabilities.flatten().tolist()
                print(json.dumps({"probabilities": first, "times": times}), flush=True)
            else:
                print(json.dumps({"error": "unknown command " + cmd["cmd"]}), flush=True)


if __name__ == "__main__":
    main()
