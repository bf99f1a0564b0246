/**
 * `npm run bench -- kt-vrf [--seconds S]`: the key-transparency VRF (ECVRF-EDWARDS25519-SHA512-TAI,
 * `@parley/protocol/kt`) against Ed25519 in node:crypto (OpenSSL), measured in the same run in
 * alternating slices. Verify is what every client does per lookup proof; prove is what the
 * directory does per account and epoch. Figures are operations per second; the ratio says how many
 * VRF operations fit in the time of one Ed25519 operation (a VRF verify does about two
 * double-scalar multiplications and a hash-to-curve in JavaScript, an Ed25519 verify one in C).
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { ktAccountVrfInput, vrfKeyPair, vrfProve, vrfVerify } from '@parley/protocol/kt';
import { alternatingRates, type Figure, report } from './report.ts';

/** Runs the VRF benchmark and returns its figures. */
export async function runKtVrf(args: { seconds: number }): Promise<Figure[]> {
  const kp = vrfKeyPair(Uint8Array.from({ length: 32 }, (_, i) => i));
  const alpha = ktAccountVrfInput('alice');
  const proof = vrfProve(kp.secretKey, alpha);
  const ed = generateKeyPairSync('ed25519');
  const signature = sign(null, alpha, ed.privateKey);
  const vrfVerifyStep = async () => {
    if (vrfVerify(kp.publicKey, alpha, proof).length !== 64) throw new Error('VRF output of the wrong length');
  };
  const edVerifyStep = async () => {
    if (!verify(null, alpha, ed.publicKey, signature)) throw new Error('Ed25519 baseline did not verify');
  };
  const vrfProveStep = async () => {
    if (vrfProve(kp.secretKey, alpha).length !== 80) throw new Error('VRF proof of the wrong length');
  };
  const edSignStep = async () => {
    if (sign(null, alpha, ed.privateKey).length !== 64) throw new Error('Ed25519 signature of the wrong length');
  };
  const out: Figure[] = [];
  const v = await alternatingRates(args.seconds, vrfVerifyStep, edVerifyStep);
  out.push(report('kt-vrf.verify', v.wall[0], 'verifies/s', v.wall[1]));
  const p = await alternatingRates(args.seconds, vrfProveStep, edSignStep);
  out.push(report('kt-vrf.prove', p.wall[0], 'proofs/s', p.wall[1]));
  process.stderr.write(
    `kt-vrf: verify ${(1000 / v.wall[0]).toFixed(3)} ms per proof (Ed25519 verify ${(1000 / v.wall[1]).toFixed(3)} ms), ` +
      `prove ${(1000 / p.wall[0]).toFixed(3)} ms (Ed25519 sign ${(1000 / p.wall[1]).toFixed(3)} ms); ` +
      `per CPU second: verify ratio ${(v.cpu[0] / v.cpu[1]).toFixed(3)}, prove ratio ${(p.cpu[0] / p.cpu[1]).toFixed(3)}\n`,
  );
  process.stderr.write(
    `baseline: node:crypto Ed25519 (OpenSSL ${process.versions.openssl}) on Node.js ${process.version}\n`,
  );
  return out;
}
