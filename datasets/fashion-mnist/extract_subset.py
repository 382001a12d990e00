#!/usr/bin/env python3
"""Extracts the course's Fashion-MNIST subset from Debian's `dataset-fashion-mnist` package.

Run from anywhere: `python3 datasets/fashion-mnist/extract_subset.py` (needs numpy and
`apt-get install dataset-fashion-mnist`). It checks the SHA-256 of the four source files, picks a
class-balanced subset with a fixed seed (1,200 images per class from the training file, 200 per
class from the test file), keeps the source order inside the subset, and writes it in the same
IDX format, gzipped with a zero timestamp so that the output is byte-for-byte reproducible.
Then it prints the SHA-256 of what it wrote (the loader in src/data/mnist.ts checks them).
"""
import gzip
import hashlib
import os
import sys

import numpy as np

SOURCE = '/usr/share/datasets/fashion-mnist'
SOURCE_SHA256 = {
    'train-images-idx3-ubyte.gz': 'b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7',
    'train-labels-idx1-ubyte.gz': '0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056',
    't10k-images-idx3-ubyte.gz': 'cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa',
    't10k-labels-idx1-ubyte.gz': '8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05',
}
PER_CLASS = {'train': 1200, 't10k': 200}
SEED = 20201202
OUT = os.path.dirname(os.path.abspath(__file__))


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b''.join(
        int(d).to_bytes(4, 'big') for d in array.shape)
    with open(path, 'wb') as raw:
        with gzip.GzipFile(filename='', mode='wb', fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(header + array.astype(np.uint8).tobytes())


def main():
    for name, want in SOURCE_SHA256.items():
        got = sha256(os.path.join(SOURCE, name))
        if got != want:
            sys.exit(f'{name}: SHA-256 {got}, expected {want} (a different package version?)')
    rng = np.random.RandomState(SEED)
    for part, per_class in PER_CLASS.items():
        images = read_idx(os.path.join(SOURCE, f'{part}-images-idx3-ubyte.gz'))
        labels = read_idx(os.path.join(SOURCE, f'{part}-labels-idx1-ubyte.gz'))
        keep = np.concatenate([
            rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)
        ])
        keep.sort()
        out = 'train' if part == 'train' else 'test'
        write_idx(os.path.join(OUT, f'{out}-images-idx3-ubyte.gz'), images[keep])
        write_idx(os.path.join(OUT, f'{out}-labels-idx1-ubyte.gz'), labels[keep])
    for name in sorted(os.listdir(OUT)):
        if name.endswith('.gz'):
            print(sha256(os.path.join(OUT, name)), name)


if __name__ == '__main__':
    main()
