"""The PyTorch peer of `npm run bench -- peer` (spawned by tools/bench/peer.ts; never by the tests).

Runs the two training steps of tools/bench/train-steps.ts in PyTorch, with the same shapes, the
same model structure (same layers, same parameter count) and the same optimizer (Adam, lr 1e-3),
on one thread, and prints ONE line on stdout:

    PEER_JSON {"torch": ..., "blas": {...}, "rows": [...], ...}

Modes:
    python3 peer.py --probe   which torch and BLAS, and numbers to compare across BLAS libraries:
                              a float32 matrix product checked against exact float64 sums, and
                              the first loss of each model from fixed seeds
    python3 peer.py --run     the timings (median ms per step, after one warm-up step)

If torch cannot be imported, the line says so ({"error": ...}) and the exit code is 0.
"""

import json
import math
import os
import platform
import re
import sys
import time

BUDGET_MS = 2500  # the same budget, minimum and maximum of runs as tools/bench/timing.ts
MIN_RUNS = 3
MAX_RUNS = 15

SEQ2SEQ = dict(B=128, S=24, T=11, V=40, E=32, enc=64, dec=128, attn=64)
MINI_GPT = dict(B=16, T=64, V=65, D=128, H=4, layers=2, ff=512)


def emit(record):
    sys.stdout.write("PEER_JSON " + json.dumps(record) + "\n")
    sys.stdout.flush()


try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as err:  # noqa: BLE001: any import failure means "no usable torch"
    emit({"error": "cannot import torch: %s" % err, "python": sys.version.split()[0]})
    sys.exit(0)


class Seq2Seq(nn.Module):
    """Bidirectional GRU encoder, decoder GRU cell with additive attention (Bahdanau et al.)."""

    def __init__(self):
        super().__init__()
        c = SEQ2SEQ
        self.src_embed = nn.Embedding(c["V"], c["E"])
        self.tgt_embed = nn.Embedding(c["V"], c["E"])
        self.encoder = nn.GRU(c["E"], c["enc"], batch_first=True, bidirectional=True)
        # s_0 = tanh(W_s h_1^<) (appendix A.2.2): the backward direction's state at the first
        # source position, as chapter 03's BahdanauSeq2Seq does
        self.bridge = nn.Linear(c["enc"], c["dec"], bias=False)
        self.w_q = nn.Linear(c["dec"], c["attn"], bias=False)
        self.w_k = nn.Linear(2 * c["enc"], c["attn"], bias=False)
        self.v = nn.Parameter(torch.empty(c["attn"]).uniform_(-0.2, 0.2))
        self.decoder = nn.GRUCell(c["E"] + 2 * c["enc"], c["dec"])
        self.out = nn.Linear(c["dec"] + 2 * c["enc"], c["V"])

    def forward(self, src, src_lens, tgt_in):
        S = src.shape[1]
        packed = nn.utils.rnn.pack_padded_sequence(
            self.src_embed(src), src_lens, batch_first=True, enforce_sorted=False
        )
        out, h_n = self.encoder(packed)
        # [B, S, 2E'], zero at padding; h_n [2, B, E']: h_n[1] is the backward direction's state
        # after reading back to the first token
        enc, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=S)
        s = torch.tanh(self.bridge(h_n[1]))  # [B, E'] -> [B, Dd]
        keys = self.w_k(enc)  # [B, S, A]
        pad = torch.arange(S)[None, :] >= src_lens[:, None]  # [B, S], True at padding
        outs = []
        for y in self.tgt_embed(tgt_in).unbind(1):  # T x [B, E]
            scores = torch.tanh(self.w_q(s)[:, None, :] + keys) @ self.v  # [B, S]
            w = torch.softmax(scores.masked_fill(pad, float("-inf")), -1)  # [B, S]
            context = torch.bmm(w[:, None, :], enc)[:, 0]  # [B, 1, S] x [B, S, 2E'] -> [B, 2E']
            s = self.decoder(torch.cat([y, context], 1), s)  # [B, Dd]
            outs.append(torch.cat([s, context], 1))  # [B, Dd + 2E']
        return self.out(torch.stack(outs, 1))  # [B, T, V]


class Block(nn.Module):
    """Pre-norm block: separate Q, K, V, O projections with biases, causal, GELU feed-forward."""

    def __init__(self):
        super().__init__()
        c = MINI_GPT
        D = c["D"]
        self.ln1 = nn.LayerNorm(D)
        self.w_q, self.w_k, self.w_v, self.w_o = (nn.Linear(D, D) for _ in range(4))
        self.ln2 = nn.LayerNorm(D)
        self.ffn = nn.Sequential(nn.Linear(D, c["ff"]), nn.GELU(), nn.Linear(c["ff"], D))

    def forward(self, x):
        B, T, D = x.shape
        H = MINI_GPT["H"]
        h = self.ln1(x)
        # [B, T, D] -> [B, H, T, Dh]
        q, k, v = (w(h).view(B, T, H, D // H).transpose(1, 2) for w in (self.w_q, self.w_k, self.w_v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(D // H)  # [B, H, T, T]
        causal = torch.ones(T, T, dtype=torch.bool).triu(1)
        a = torch.softmax(scores.masked_fill(causal, float("-inf")), -1) @ v  # [B, H, T, Dh]
        x = x + self.w_o(a.transpose(1, 2).reshape(B, T, D))  # [B, H, T, Dh] -> [B, T, D]
        return x + self.ffn(self.ln2(x))


class MiniGPT(nn.Module):
    def __init__(self):
        super().__init__()
        c = MINI_GPT
        self.tokens = nn.Embedding(c["V"], c["D"])
        self.positions = nn.Parameter(torch.randn(c["T"], c["D"]) * 0.02)
        self.blocks = nn.ModuleList(Block() for _ in range(c["layers"]))
        self.ln_f = nn.LayerNorm(c["D"])

    def forward(self, ids):
        x = self.tokens(ids) + self.positions[: ids.shape[1]]  # [B, T, D]
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.tokens.weight.t()  # tied output: [B, T, D] -> [B, T, V]


def masked_cross_entropy(logits, targets, lens):
    """Mean cross-entropy over the real tokens (position < len) only."""
    per_token = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
    mask = (torch.arange(targets.shape[1])[None, :] < lens[:, None]).flatten().float()
    return (per_token * mask).sum() / mask.sum().clamp(min=1)


def seq2seq_step():
    c = SEQ2SEQ
    g = torch.Generator().manual_seed(1)
    B, S, T, V = c["B"], c["S"], c["T"], c["V"]
    src = torch.randint(0, V, (B, S), generator=g)
    src_lens = torch.randint(S // 2, S + 1, (B,), generator=g)
    tgt_in = torch.randint(0, V, (B, T), generator=g)
    tgt_out = torch.randint(0, V, (B, T), generator=g)
    tgt_lens = torch.randint(T - 3, T + 1, (B,), generator=g)
    model = Seq2Seq()
    loss = lambda: masked_cross_entropy(model(src, src_lens, tgt_in), tgt_out, tgt_lens)
    return "seq2seq", B, model, loss


def gpt_step():
    c = MINI_GPT
    g = torch.Generator().manual_seed(6)
    B, T = c["B"], c["T"]
    ids = torch.randint(0, c["V"], (B, T + 1), generator=g)
    model = MiniGPT()
    full = torch.full((B,), T)
    loss = lambda: masked_cross_entropy(model(ids[:, :T]), ids[:, 1:], full)
    return "gpt", B, model, loss


STEPS = [seq2seq_step, gpt_step]


def loaded_libraries():
    """Paths of the shared libraries mapped into this process (Linux), in first-mapped order."""
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                if len(fields) >= 6 and ".so" in fields[-1] and fields[-1] not in paths:
                    paths.append(fields[-1])
    except OSError:
        pass
    return paths


def sgemm_library():
    """The file that provides `sgemm_` to this process (the one torch's products call), or None."""
    try:
        import ctypes

        class DlInfo(ctypes.Structure):
            _fields_ = [
                ("dli_fname", ctypes.c_char_p),
                ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p),
                ("dli_saddr", ctypes.c_void_p),
            ]

        libc = ctypes.CDLL(None)
        # dlsym on torch's own library searches it and its dependencies in the order its symbols
        # were bound: the sgemm_ that torch's products call
        owner = next((p for p in loaded_libraries() if "libtorch_cpu" in p), None)
        lib = ctypes.CDLL(owner) if owner else libc
        address = ctypes.cast(lib.sgemm_, ctypes.c_void_p)
        info = DlInfo()
        if libc.dladdr(address, ctypes.byref(info)) == 0 or not info.dli_fname:
            return None
        return os.path.realpath(info.dli_fname.decode())
    except (AttributeError, OSError):
        return None


def blas_info():
    """Which BLAS this process really calls (the library of `sgemm_`), and what torch was built with."""
    a = torch.randn(64, 64)
    (a @ a).sum().item()
    libs = [p for p in loaded_libraries() if re.search(r"blas|mkl_|lapack|blis", os.path.basename(p))]
    sgemm = sgemm_library()
    where = sgemm or " ".join(sorted(libs))
    if "openblas" in where:
        kind = "openblas"
    elif "mkl" in where:
        kind = "mkl"
    elif "blis" in where:
        kind = "blis"
    elif re.search(r"libblas\.so", where):
        kind = "reference"
    else:
        kind = "unknown"  # statically linked (pip wheels link MKL or OpenBLAS into torch itself)
    config = torch.__config__.show()
    built = re.search(r"BLAS_INFO=([^,\s]+)", config)
    return {
        "kind": kind,
        "sgemm": sgemm,
        "libraries": sorted(libs),
        "builtWith": built.group(1) if built else None,
    }


def matmul_error():
    """Max relative error of a float32 product against exact float64 sums in pure Python."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(24, 40, generator=g)
    b = torch.randn(40, 16, generator=g)
    got = (a @ b).tolist()
    al, bl = a.double().tolist(), b.double().tolist()
    worst = 0.0
    for i in range(24):
        for j in range(16):
            exact = math.fsum(al[i][k] * bl[k][j] for k in range(40))
            worst = max(worst, abs(got[i][j] - exact) / max(1.0, abs(exact)))
    return worst


def train_step(model, loss_fn, optimizer):
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn()
    loss.backward()
    optimizer.step()
    return loss.item()  # read the loss back, as the TypeScript side does with dataSync


def median_ms(step):
    """Median wall and CPU ms of `step` after one warm-up run, and the number of timed runs."""
    t0 = time.perf_counter()
    step()
    first = (time.perf_counter() - t0) * 1000
    fit = int(BUDGET_MS // max(first, 1e-3))
    runs = 1 if first > BUDGET_MS else max(MIN_RUNS, min(MAX_RUNS, fit))
    wall, cpu = [], []
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        cpu.append((time.process_time() - cpu_start) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return sorted(wall)[runs // 2], sorted(cpu)[runs // 2], runs


def main(argv):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    record = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "blas": blas_info(),
    }
    if "--probe" in argv:
        record["matmulError"] = matmul_error()
        losses = {}
        for make in STEPS:
            torch.manual_seed(0)
            name, _, model, loss_fn = make()
            with torch.no_grad():
                losses[name] = loss_fn().item()
        record["losses"] = losses
    else:
        rows = []
        for make in STEPS:
            torch.manual_seed(0)
            name, batch, model, loss_fn = make()
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            ms, cpu_ms, runs = median_ms(lambda: train_step(model, loss_fn, optimizer))
            rows.append(
                {
                    "name": name,
                    "batch": batch,
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "msPerStep": ms,
                    "cpuMsPerStep": cpu_ms,
                    "runs": runs,
                }
            )
        record["rows"] = rows
    emit(record)


if __name__ == "__main__":
    main(sys.argv[1:])
