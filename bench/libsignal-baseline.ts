/**
 * The baseline: Signal's own libsignal-client (Rust, via its Node binding) with in-memory
 * stores that serialise records on every save and deserialise on every load, as a real client
 * store would. AGPL: used by this benchmark only, never shipped.
 */
import * as S from '@signalapp/libsignal-client';

class Sessions extends S.SessionStore {
  private rows = new Map<string, Uint8Array<ArrayBuffer>>();
  async saveSession(a: S.ProtocolAddress, r: S.SessionRecord) {
    this.rows.set(a.toString(), r.serialize());
  }
  async getSession(a: S.ProtocolAddress) {
    const b = this.rows.get(a.toString());
    return b ? S.SessionRecord.deserialize(b) : null;
  }
  async getExistingSessions(as: S.ProtocolAddress[]) {
    const out: S.SessionRecord[] = [];
    for (const a of as) {
      const r = await this.getSession(a);
      if (r) out.push(r);
    }
    return out;
  }
}

class Identities extends S.IdentityKeyStore {
  private known = new Map<string, Uint8Array<ArrayBuffer>>();
  constructor(private readonly pair: S.IdentityKeyPair) {
    super();
  }
  async getIdentityKey() {
    return this.pair.privateKey;
  }
  async getLocalRegistrationId() {
    return 1;
  }
  async saveIdentity(a: S.ProtocolAddress, key: S.PublicKey) {
    const prev = this.known.get(a.toString());
    this.known.set(a.toString(), key.serialize());
    return prev ? S.IdentityChange.ReplacedExisting : S.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(a: S.ProtocolAddress, key: S.PublicKey) {
    const prev = this.known.get(a.toString());
    return prev === undefined || Buffer.compare(prev, key.serialize()) === 0;
  }
  async getIdentity(a: S.ProtocolAddress) {
    const b = this.known.get(a.toString());
    return b ? S.PublicKey.deserialize(b) : null;
  }
}

class PreKeys extends S.PreKeyStore {
  rows = new Map<number, Uint8Array<ArrayBuffer>>();
  async savePreKey(id: number, r: S.PreKeyRecord) {
    this.rows.set(id, r.serialize());
  }
  async getPreKey(id: number) {
    return S.PreKeyRecord.deserialize(this.rows.get(id)!);
  }
  async removePreKey(id: number) {
    this.rows.delete(id);
  }
}

class SignedPreKeys extends S.SignedPreKeyStore {
  rows = new Map<number, Uint8Array<ArrayBuffer>>();
  async saveSignedPreKey(id: number, r: S.SignedPreKeyRecord) {
    this.rows.set(id, r.serialize());
  }
  async getSignedPreKey(id: number) {
    return S.SignedPreKeyRecord.deserialize(this.rows.get(id)!);
  }
}

class KyberPreKeys extends S.KyberPreKeyStore {
  rows = new Map<number, Uint8Array<ArrayBuffer>>();
  async saveKyberPreKey(id: number, r: S.KyberPreKeyRecord) {
    this.rows.set(id, r.serialize());
  }
  async getKyberPreKey(id: number) {
    return S.KyberPreKeyRecord.deserialize(this.rows.get(id)!);
  }
  async markKyberPreKeyUsed() {}
}

/** A libsignal device with in-memory serialising stores. */
export class LibsignalParty {
  readonly identity = S.IdentityKeyPair.generate();
  readonly sessions = new Sessions();
  readonly identities = new Identities(this.identity);
  readonly preKeys = new PreKeys();
  readonly signedPreKeys = new SignedPreKeys();
  readonly kyber = new KyberPreKeys();
  readonly address: S.ProtocolAddress;
  private nextId = 1;

  constructor(name: string) {
    this.address = S.ProtocolAddress.new(name, 1);
    const spk = S.PrivateKey.generate();
    const sig = this.identity.privateKey.sign(spk.getPublicKey().serialize());
    void this.signedPreKeys.saveSignedPreKey(1, S.SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, sig));
  }

  /** A bundle with a fresh one-time EC prekey and a fresh one-time Kyber prekey. */
  async bundle(): Promise<S.PreKeyBundle> {
    const id = this.nextId++;
    const pk = S.PrivateKey.generate();
    await this.preKeys.savePreKey(id, S.PreKeyRecord.new(id, pk.getPublicKey(), pk));
    const kem = S.KEMKeyPair.generate();
    const kemSig = this.identity.privateKey.sign(kem.getPublicKey().serialize());
    await this.kyber.saveKyberPreKey(id, S.KyberPreKeyRecord.new(id, Date.now(), kem, kemSig));
    const spk = await this.signedPreKeys.getSignedPreKey(1);
    return S.PreKeyBundle.new(
      1,
      1,
      id,
      pk.getPublicKey(),
      1,
      spk.publicKey(),
      spk.signature(),
      this.identity.publicKey,
      id,
      kem.getPublicKey(),
      kemSig,
    );
  }

  async startSession(peer: LibsignalParty): Promise<void> {
    await S.processPreKeyBundle(await peer.bundle(), peer.address, this.address, this.sessions, this.identities);
  }

  async encrypt(peer: LibsignalParty, plaintext: Uint8Array<ArrayBuffer>): Promise<S.CiphertextMessage> {
    return S.signalEncrypt(plaintext, peer.address, this.address, this.sessions, this.identities);
  }

  async decrypt(peer: LibsignalParty, message: S.CiphertextMessage): Promise<Uint8Array> {
    const bytes = message.serialize();
    if (message.type() === S.CiphertextMessageType.PreKey) {
      return S.signalDecryptPreKey(
        S.PreKeySignalMessage.deserialize(bytes),
        peer.address,
        this.address,
        this.sessions,
        this.identities,
        this.preKeys,
        this.signedPreKeys,
        this.kyber,
      );
    }
    return S.signalDecrypt(
      S.SignalMessage.deserialize(bytes),
      peer.address,
      this.address,
      this.sessions,
      this.identities,
    );
  }
}
