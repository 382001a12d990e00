/**
 * The Jupyter messaging protocol (v5.3), client side: message envelopes, HMAC signatures and the
 * multipart wire format. Spec: https://jupyter-client.readthedocs.io/en/latest/messaging.html
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/** The `header` of every Jupyter message. */
export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** A decoded Jupyter message. `content` depends on `header.msg_type`. */
export interface JupyterMessage<C = Record<string, unknown>> {
  identities: Buffer[];
  header: MessageHeader;
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** The connection file a kernel reads at start (`--config-path`). */
export interface ConnectionInfo {
  transport: 'tcp';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name?: string;
}

const DELIMITER = '<IDS|MSG>';
const PROTOCOL_VERSION = '5.3';

/** HMAC-SHA256 over header, parent header, metadata and content, as the spec requires. */
export function sign(key: string, parts: Buffer[]): string {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest('hex');
}

/** A new message from this client's session. */
export function createMessage<C>(session: string, msgType: string, content: C): JupyterMessage<C> {
  return {
    identities: [],
    header: {
      msg_id: randomUUID(),
      session,
      username: 'attention-runner',
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    },
    parent_header: {},
    metadata: {},
    content,
    buffers: [],
  };
}

/** Message -> signed multipart frames: [ids..., delimiter, signature, header, parent, metadata, content, buffers...]. */
export function encode(key: string, msg: JupyterMessage<unknown>): Buffer[] {
  const body = [msg.header, msg.parent_header, msg.metadata, msg.content].map((part) =>
    Buffer.from(JSON.stringify(part)),
  );
  return [
    ...msg.identities,
    Buffer.from(DELIMITER),
    Buffer.from(sign(key, body)),
    ...body,
    ...msg.buffers,
  ];
}

/**
 * Multipart frames -> message. Throws if the delimiter is missing or the signature does not match,
 * so a stray or forged message can never be mistaken for a kernel reply.
 */
export function decode(key: string, frames: Buffer[]): JupyterMessage {
  const at = frames.findIndex((frame) => frame.toString() === DELIMITER);
  if (at < 0) throw new Error(`Jupyter message without the "${DELIMITER}" delimiter`);
  if (frames.length < at + 6) {
    throw new Error(
      `Jupyter message with ${frames.length - at - 1} frames after the delimiter, expected at least 5`,
    );
  }
  const signature = frames[at + 1];
  const body = frames.slice(at + 2, at + 6);
  if (key) {
    const expected = Buffer.from(sign(key, body));
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new Error('Jupyter message with a bad HMAC signature');
    }
  }
  const [header, parent, metadata, content] = body.map((part) => JSON.parse(part.toString()));
  return {
    identities: frames.slice(0, at),
    header,
    parent_header: parent,
    metadata,
    content,
    buffers: frames.slice(at + 6),
  };
}
