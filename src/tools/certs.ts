/**
 * Real TLS material for tests and the demo: one CA and four leaf certificates, the same set a Konnectivity
 * deployment uses (agent-facing server cert, frontend server cert, kube-apiserver client cert, agent client
 * cert). Keys come from Node's native RSA (forge's pure-JS keygen takes seconds); node-forge only builds and
 * signs the X.509 structures, which Node cannot do.
 */
import { generateKeyPairSync, randomBytes } from 'crypto';
import { chmod, mkdir, writeFile } from 'fs/promises';
import * as path from 'path';
import forge from 'node-forge';

/** 2048 bits: what kubeadm and the reference's test scripts use, and fast enough to make per test suite. */
const RSA_BITS = 2048;
/** Back-dated so a peer whose clock runs slightly behind (a VM, a container) does not see "not yet valid". */
const NOT_BEFORE_SKEW_MS = 60 * 60 * 1000;
const VALIDITY_MS = 365 * 24 * 60 * 60 * 1000;

/** Names every server certificate answers to, so clients may dial localhost over IPv4 or IPv6. */
export const SERVER_DNS_NAMES: readonly string[] = ['localhost'];
export const SERVER_IPS: readonly string[] = ['127.0.0.1', '::1'];

export interface CertKeyPem {
  readonly cert: string;
  readonly key: string;
}

/** PEM strings, in memory. */
export interface TlsPems {
  readonly ca: CertKeyPem;
  /** Server certificate of the agent endpoint (`--cluster-cert/--cluster-key`). */
  readonly cluster: CertKeyPem;
  /** Server certificate of the frontend endpoint (`--server-cert/--server-key`). */
  readonly server: CertKeyPem;
  /** Client certificate the frontend (kube-apiserver) presents for mTLS. */
  readonly frontendClient: CertKeyPem;
  /** Client certificate the agent presents (`--agent-cert/--agent-key`). */
  readonly agent: CertKeyPem;
}

/** Paths of the PEM files written by `generateTlsMaterial`. */
export interface TlsFiles {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly clusterCert: string;
  readonly clusterKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly frontendClientCert: string;
  readonly frontendClientKey: string;
  readonly agentCert: string;
  readonly agentKey: string;
}

interface KeyPair {
  readonly pem: string;
  readonly forgePrivate: forge.pki.rsa.PrivateKey;
  readonly forgePublic: forge.pki.rsa.PublicKey;
}

function newKeyPair(): KeyPair {
  // PKCS#1 because every consumer (Node, Go's tls.X509KeyPair, forge) reads it.
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: RSA_BITS,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const forgePrivate = forge.pki.privateKeyFromPem(privateKey);
  const forgePublic = forge.pki.setRsaPublicKey(forgePrivate.n, forgePrivate.e);
  return { pem: privateKey, forgePrivate, forgePublic };
}

/** 16 random bytes with the top bit clear: DER INTEGERs are signed and Go rejects negative serials. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

interface Subject {
  readonly commonName: string;
  readonly organization?: string;
}

function attributes(s: Subject): forge.pki.CertificateField[] {
  const attrs: forge.pki.CertificateField[] = [{ name: 'commonName', value: s.commonName }];
  if (s.organization) attrs.push({ name: 'organizationName', value: s.organization });
  return attrs;
}

function baseCertificate(subject: Subject, publicKey: forge.pki.rsa.PublicKey): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  const now = Date.now();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now - NOT_BEFORE_SKEW_MS);
  cert.validity.notAfter = new Date(now + VALIDITY_MS);
  cert.setSubject(attributes(subject));
  return cert;
}

interface Issuer {
  readonly cert: forge.pki.Certificate;
  readonly keys: KeyPair;
}

function makeCa(commonName: string): Issuer & { pem: CertKeyPem } {
  const keys = newKeyPair();
  const cert = baseCertificate({ commonName }, keys.forgePublic);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.forgePrivate, forge.md.sha256.create());
  return { cert, keys, pem: { cert: forge.pki.certificateToPem(cert), key: keys.pem } };
}

type Usage = 'server' | 'client';

function makeLeaf(issuer: Issuer, subject: Subject, usage: Usage): CertKeyPem {
  const keys = newKeyPair();
  const cert = baseCertificate(subject, keys.forgePublic);
  cert.setIssuer(issuer.cert.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    usage === 'server'
      ? { name: 'extKeyUsage', serverAuth: true }
      : { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    // forge's `keyIdentifier: true` would use the leaf's own key; the AKI must name the issuer's key.
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: issuer.cert.generateSubjectKeyIdentifier().getBytes(),
    },
  ];
  if (usage === 'server') {
    extensions.push({
      name: 'subjectAltName',
      altNames: [
        ...SERVER_DNS_NAMES.map((value) => ({ type: 2, value })),
        ...SERVER_IPS.map((ip) => ({ type: 7, ip })),
      ],
    });
  }
  cert.setExtensions(extensions);
  cert.sign(issuer.keys.forgePrivate, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/** A fresh CA and the four leaf certificates, as PEM strings. Synchronous; about half a second. */
export function generateTlsPems(): TlsPems {
  const ca = makeCa('konnectivity-test-ca');
  return {
    ca: ca.pem,
    cluster: makeLeaf(ca, { commonName: 'konnectivity-server' }, 'server'),
    server: makeLeaf(ca, { commonName: 'konnectivity-server-frontend' }, 'server'),
    // What kube-apiserver's egress selector client certificate usually looks like.
    frontendClient: makeLeaf(
      ca,
      { commonName: 'system:konnectivity-server', organization: 'system:masters' },
      'client',
    ),
    agent: makeLeaf(ca, { commonName: 'system:konnectivity-agent' }, 'client'),
  };
}

/** File name stems, shared with scripts and docs that refer to the files by name. */
export const TLS_FILE_STEMS = {
  ca: 'ca',
  cluster: 'cluster',
  server: 'server',
  frontendClient: 'frontend-client',
  agent: 'agent',
} as const satisfies Record<keyof TlsPems, string>;

/** Writes `generateTlsPems()` into `dir` (created if needed) as `<stem>.crt` / `<stem>.key`; keys are 0600. */
export async function generateTlsMaterial(dir: string): Promise<TlsFiles & { readonly pems: TlsPems }> {
  const pems = generateTlsPems();
  await mkdir(dir, { recursive: true });
  const paths = {} as Record<keyof TlsPems, { cert: string; key: string }>;
  await Promise.all(
    (Object.keys(TLS_FILE_STEMS) as (keyof TlsPems)[]).map(async (name) => {
      const stem = TLS_FILE_STEMS[name];
      const cert = path.join(dir, `${stem}.crt`);
      const key = path.join(dir, `${stem}.key`);
      paths[name] = { cert, key };
      await writeFile(cert, pems[name].cert);
      await writeFile(key, pems[name].key, { mode: 0o600 });
      // writeFile's mode only applies when it creates the file; regenerate into an old dir stays private.
      await chmod(key, 0o600);
    }),
  );
  return {
    dir,
    pems,
    caCert: paths.ca.cert,
    caKey: paths.ca.key,
    clusterCert: paths.cluster.cert,
    clusterKey: paths.cluster.key,
    serverCert: paths.server.cert,
    serverKey: paths.server.key,
    frontendClientCert: paths.frontendClient.cert,
    frontendClientKey: paths.frontendClient.key,
    agentCert: paths.agent.cert,
    agentKey: paths.agent.key,
  };
}
