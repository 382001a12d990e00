import assert from 'node:assert/strict';
import { createMessage, decode, encode, sign } from '../../tools/notebooks/protocol';

describe('Jupyter wire protocol', () => {
  it('signs the concatenated parts with HMAC-SHA256 (RFC 4231-style known vector)', () => {
    // The classic vector: HMAC_SHA256("key", "The quick brown fox jumps over the lazy dog").
    const parts = [Buffer.from('The quick brown fox '), Buffer.from('jumps over the lazy dog')];
    assert.equal(
      sign('key', parts),
      'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });

  it('encodes delimiter, signature and the four JSON frames, and decodes them back', () => {
    const msg = createMessage('session-1', 'execute_request', { code: '1 + 1' });
    msg.identities = [Buffer.from('peer')];
    const frames = encode('secret', msg);
    assert.equal(frames[0].toString(), 'peer');
    assert.equal(frames[1].toString(), '<IDS|MSG>');
    assert.equal(frames[2].toString(), sign('secret', frames.slice(3, 7)));
    const back = decode('secret', frames);
    assert.deepEqual(back.content, { code: '1 + 1' });
    assert.equal(back.header.msg_type, 'execute_request');
    assert.equal(back.header.version, '5.3');
    assert.deepEqual(back.identities.map(String), ['peer']);
  });

  it('rejects a message whose signature does not match', () => {
    const frames = encode('secret', createMessage('s', 'status', { execution_state: 'idle' }));
    frames[frames.length - 1] = Buffer.from(JSON.stringify({ execution_state: 'busy' }));
    assert.throws(() => decode('secret', frames), /bad HMAC signature/);
  });

  it('rejects frames without the delimiter or with too few parts', () => {
    assert.throws(() => decode('k', [Buffer.from('{}')]), /without the "<IDS\|MSG>" delimiter/);
    assert.throws(
      () => decode('k', [Buffer.from('<IDS|MSG>'), Buffer.from('sig')]),
      /expected at least 5/,
    );
  });
});
