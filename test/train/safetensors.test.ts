import * as assert from 'node:assert/strict';
import {
  decodeSafetensors,
  encodeSafetensors,
  tensorBytes,
  tensorValues,
  type SafetensorsTensor,
} from '../../src/train/safetensors';

/** A file by hand: 8-byte length, the header text as given (no padding added), then `data`. */
function rawFile(header: string, data: number[] = []): Uint8Array {
  const text = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const f32 = (values: number[]): Uint8Array => tensorBytes(values, 'F32');

describe('safetensors', () => {
  it('writes the bytes of the reference implementation (its test_serialization and test_empty)', () => {
    // Expected bytes copied from huggingface/safetensors, safetensors/src/tensor.rs, tests.
    const one = encodeSafetensors([
      ['attn.0', { dtype: 'F32', shape: [1, 2, 3], data: f32([0, 1, 2, 3, 4, 5]) }],
    ]);
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    assert.equal(header.length, 64);
    const data = [
      0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ];
    assert.deepEqual([...one], [...rawFile(header, data)]);

    assert.deepEqual(
      [...encodeSafetensors([])],
      [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32],
    );
    const withMeta = encodeSafetensors([], { framework: 'pt' });
    assert.equal(withMeta[0], 40);
    assert.equal(
      new TextDecoder().decode(withMeta.subarray(8)),
      '{"__metadata__":{"framework":"pt"}}     ',
    );
  });

  it('pads the header with spaces to a multiple of 8 and orders tensors by alignment, then name', () => {
    const bytes = encodeSafetensors(
      [
        ['b', { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }],
        ['z', { dtype: 'F32', shape: [2], data: f32([1.5, -2]) }],
        ['a', { dtype: 'F32', shape: [], data: f32([7]) }],
        ['d', { dtype: 'F64', shape: [1], data: tensorBytes([0.1], 'F64') }],
        ['i', { dtype: 'I32', shape: [2, 1], data: tensorBytes([-3, 2147483647], 'I32') }],
      ],
      { note: 'x' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const { tensors, metadata } = decodeSafetensors(bytes);
    // F64 (8), then F32 a, z (4), I32 (4, ranked below F32), U8 (1).
    assert.deepEqual(
      tensors.map(([name]) => name),
      ['d', 'a', 'z', 'i', 'b'],
    );
    assert.deepEqual(metadata, { note: 'x' });
    const byName = new Map(tensors);
    assert.deepEqual([...tensorValues(byName.get('z')!)], [1.5, -2]);
    assert.deepEqual(byName.get('a')!.shape, []);
    assert.deepEqual([...tensorValues(byName.get('d')!)], [0.1]);
    assert.deepEqual([...tensorValues(byName.get('i')!)], [-3, 2147483647]);
    assert.deepEqual([...tensorValues(byName.get('b')!)], [1, 2, 3]);
  });

  it('reads tensors in any header order, with an empty tensor', () => {
    const header =
      '{"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const { tensors, metadata } = decodeSafetensors(rawFile(header, [...f32([1]), ...f32([2])]));
    assert.deepEqual(metadata, {});
    const byName = new Map(tensors);
    assert.deepEqual([...tensorValues(byName.get('x')!)], [1]);
    assert.deepEqual([...tensorValues(byName.get('y')!)], [2]);
    assert.equal(byName.get('e')!.data.byteLength, 0);
    // Sub-byte types: four 4-bit values in 2 bytes.
    const f4 = decodeSafetensors(
      rawFile(
        `{"q":${JSON.stringify({ dtype: 'F4', shape: [2, 2], data_offsets: [0, 2] })}}`,
        [0x21, 0x43],
      ),
    );
    assert.deepEqual([...f4.tensors[0][1].data], [0x21, 0x43]);
  });

  const t = (dtype: string, shape: number[], offsets: number[]): string =>
    JSON.stringify({ dtype, shape, data_offsets: offsets });
  const bad: Array<[string, Uint8Array, RegExp]> = [
    ['shorter than 8 bytes', new Uint8Array([1, 0, 0]), /too short: 3 bytes/],
    [
      'a header length over 100 MB',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 100_000_001n, true);
        return b;
      })(),
      /header length 100000001 exceeds the format's limit of 100000000/,
    ],
    [
      'a header cut short',
      rawFile('{"a":1}').subarray(0, 12),
      /truncated: the header says 7 header bytes, but only 4/,
    ],
    ['a header not starting with {', rawFile(' {}     '), /does not start with "\{"/],
    ['invalid JSON', rawFile('{"a":'), /header: not valid JSON/],
    [
      'invalid UTF-8',
      (() => {
        const b = rawFile('{"a":"xx"}');
        b[14] = 0xff;
        return b;
      })(),
      /not valid UTF-8/,
    ],
    [
      'an unknown dtype',
      rawFile(`{"a":${t('F128', [1], [0, 16])}}`, Array(16).fill(0)),
      /header.a.dtype: expected a safetensors dtype, got "F128"/,
    ],
    [
      'a negative dimension',
      rawFile(`{"a":${t('F32', [-1], [0, 4])}}`, Array(4).fill(0)),
      /header.a.shape: expected a list of non-negative integers/,
    ],
    [
      'a gap between tensors',
      rawFile(`{"a":${t('F32', [1], [0, 4])},"b":${t('F32', [1], [8, 12])}}`, Array(12).fill(0)),
      /header.b.data_offsets: \[8, 12\] should begin at 4/,
    ],
    [
      'overlapping tensors',
      rawFile(`{"a":${t('F32', [2], [0, 8])},"b":${t('F32', [1], [4, 8])}}`, Array(8).fill(0)),
      /header.a.data_offsets: \[0, 8\] should begin at 4|header.b.data_offsets: \[4, 8\] should begin at 8/,
    ],
    [
      'offsets that disagree with the shape',
      rawFile(`{"a":${t('F32', [2], [0, 4])}}`, Array(4).fill(0)),
      /header.a: F32 \[2\] needs 8 bytes, data_offsets give 4/,
    ],
    [
      'an odd number of 4-bit values',
      rawFile(`{"a":${t('F4', [3], [0, 2])}}`, [0, 0]),
      /header.a: 3 elements of F4 fill 12 bits, not whole bytes/,
    ],
    [
      'a data buffer cut short',
      rawFile(`{"a":${t('F32', [2], [0, 8])}}`, Array(5).fill(0)),
      /truncated: a ends at byte 8 of the data buffer, which has only 5 bytes/,
    ],
    [
      'bytes left over after the last tensor',
      rawFile(`{"a":${t('F32', [1], [0, 4])}}`, Array(6).fill(0)),
      /the data buffer has 6 bytes but the tensors cover 4/,
    ],
    [
      'metadata that is not a string',
      rawFile('{"__metadata__":{"seed":3}}'),
      /header.__metadata__.seed: expected a string, got 3/,
    ],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects a file with ${what}`, () => {
      assert.throws(() => decodeSafetensors(bytes), message);
    });
  }

  it('rejects bad input to the writer, naming it', () => {
    const ok: SafetensorsTensor = { dtype: 'F32', shape: [2], data: f32([1, 2]) };
    assert.throws(
      () =>
        encodeSafetensors([
          ['a', ok],
          ['a', ok],
        ]),
      /the name a appears twice/,
    );
    assert.throws(() => encodeSafetensors([['__metadata__', ok]]), /other than __metadata__/);
    assert.throws(
      () => encodeSafetensors([['a', { ...ok, shape: [3] }]]),
      /tensors.a.data: expected 12 bytes for F32 \[3\], got 8/,
    );
    assert.throws(
      () => encodeSafetensors([['a', { ...ok, dtype: 'F128' as 'F32' }]]),
      /dtype: expected one of BOOL, .*got "F128"/,
    );
    assert.throws(
      () => encodeSafetensors([['a', ok]], { seed: 3 as unknown as string }),
      /metadata.seed: expected a string, got number/,
    );
    assert.throws(
      () => decodeSafetensors([1, 2] as unknown as Uint8Array),
      /bytes: expected a Uint8Array/,
    );
  });
});
