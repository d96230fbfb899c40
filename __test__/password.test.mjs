import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { offloop, require, rejectsWith, throwsWith } from './helpers.mjs';

const nodeArgon2 = require('argon2');
const nodeRsArgon2 = require('@node-rs/argon2');
const bcryptjs = require('bcryptjs');

// Small costs keep the suite fast; interop does not depend on the cost.
const FAST = { memoryCost: 256, timeCost: 1, parallelism: 1 };

describe('hashPassword / verifyPassword', () => {
  test('round trip with OWASP defaults, string and bytes passwords alike', async () => {
    const hash = await offloop.hashPassword('correct horse');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await offloop.verifyPassword(hash, 'correct horse'), true);
    assert.equal(await offloop.verifyPassword(hash, Buffer.from('correct horse')), true);
    assert.equal(await offloop.verifyPassword(hash, new TextEncoder().encode('correct horse')), true);
    assert.equal(await offloop.verifyPassword(hash, 'correct horsE'), false);
    assert.equal(await offloop.verifyPassword(hash, ''), false);
  });

  test('every option lands in the PHC string; salts are random by default', async () => {
    for (const algorithm of ['argon2id', 'argon2i', 'argon2d']) {
      const hash = await offloop.hashPassword('pw', { algorithm, memoryCost: 64, timeCost: 3, parallelism: 2, outputLength: 24 });
      assert.ok(hash.startsWith(`$${algorithm}$v=19$m=64,t=3,p=2$`), hash);
      assert.deepEqual(offloop.parsePasswordHash(hash), {
        algorithm, version: 19, memoryCost: 64, timeCost: 3, parallelism: 2, saltLength: 16, outputLength: 24,
      });
      assert.equal(await offloop.verifyPassword(hash, 'pw'), true);
    }
    const [a, b] = await Promise.all([offloop.hashPassword('pw', FAST), offloop.hashPassword('pw', FAST)]);
    assert.notEqual(a, b);
  });

  test('RFC 9106 argon2id test vector (secret and associated data)', async () => {
    const hash = await offloop.hashPassword(Buffer.alloc(32, 1), {
      salt: Buffer.alloc(16, 2), secret: Buffer.alloc(8, 3), associatedData: Buffer.alloc(12, 4),
      memoryCost: 32, timeCost: 3, parallelism: 4, outputLength: 32,
    });
    const tag = Buffer.from(hash.split('$').pop(), 'base64').toString('hex');
    assert.equal(tag, '0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
    assert.ok(hash.includes(',data=BAQEBAQEBAQEBAQE$'), hash);
    assert.equal(await offloop.verifyPassword(hash, Buffer.alloc(32, 1), { secret: Buffer.alloc(8, 3) }), true);
    assert.equal(await offloop.verifyPassword(hash, Buffer.alloc(32, 1)), false);
  });

  test('sync variants give the same answers', () => {
    const salt = Buffer.from('0123456789abcdef');
    const hash = offloop.hashPasswordSync('pw', { ...FAST, salt });
    assert.equal(offloop.verifyPasswordSync(hash, 'pw'), true);
    assert.equal(offloop.verifyPasswordSync(hash, 'px'), false);
    throwsWith(() => offloop.hashPasswordSync(1), TypeError, 'ERR_INVALID_ARG_TYPE');
    throwsWith(() => offloop.verifyPasswordSync('nope', 'pw'), Error, 'ERR_INVALID_HASH');
  });
});

describe('interop with node-argon2 and @node-rs/argon2', () => {
  test('same salt and parameters give the same tag as node-argon2', async () => {
    const salt = Buffer.from('saltsaltsaltsalt');
    const ours = await offloop.hashPassword('pässwörd', { ...FAST, salt });
    const theirs = await nodeArgon2.hash('pässwörd', { type: nodeArgon2.argon2id, ...FAST, salt });
    assert.match(theirs, /m=256,p=1,t=1/); // node-argon2's parameter order
    assert.equal(ours.split('$').pop(), theirs.split('$').pop());
  });

  test('we verify what they write, including node-argon2 defaults (m=65536,p=4,t=3)', async () => {
    for (const hash of [
      await nodeArgon2.hash('pw'),
      await nodeArgon2.hash('pw', { type: nodeArgon2.argon2i, ...FAST }),
      await nodeArgon2.hash('pw', { type: nodeArgon2.argon2d, ...FAST }),
      await nodeRsArgon2.hash('pw'),
      await nodeRsArgon2.hash('pw', { ...FAST, algorithm: 1 /* Argon2i */ }),
    ]) {
      assert.equal(await offloop.verifyPassword(hash, 'pw'), true, hash);
      assert.equal(await offloop.verifyPassword(hash, 'pW'), false, hash);
      // @node-rs/argon2's defaults are OWASP's, like ours; everything else needs a rehash.
      assert.equal(offloop.needsRehash(hash), !hash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$'), hash);
    }
  });

  test('they verify what we write', async () => {
    const hash = await offloop.hashPassword('pw', FAST);
    assert.equal(await nodeArgon2.verify(hash, 'pw'), true);
    assert.equal(await nodeArgon2.verify(hash, 'px'), false);
    assert.equal(await nodeRsArgon2.verify(hash, 'pw'), true);
    assert.equal(await nodeRsArgon2.verify(hash, 'px'), false);
  });

  test('secret (pepper) and associated data interoperate with node-argon2', async () => {
    const secret = Buffer.from('pepper-from-the-vault');
    const associatedData = Buffer.from('user:42');
    const ours = await offloop.hashPassword('pw', { ...FAST, secret, associatedData });
    assert.equal(await nodeArgon2.verify(ours, 'pw', { secret }), true);
    const theirs = await nodeArgon2.hash('pw', { ...FAST, secret, associatedData });
    assert.equal(await offloop.verifyPassword(theirs, 'pw', { secret }), true);
    assert.equal(await offloop.verifyPassword(theirs, 'pw', { secret: 'wrong' }), false);
    const rs = await nodeRsArgon2.hash('pw', { ...FAST, secret });
    assert.equal(await offloop.verifyPassword(rs, 'pw', { secret }), true);
    assert.equal(await nodeRsArgon2.verify(await offloop.hashPassword('pw', { ...FAST, secret }), 'pw', { secret }), true);
  });
});

describe('legacy bcrypt', () => {
  test('verifies $2a$, $2b$ and $2y$ (PHP) hashes from bcryptjs', async () => {
    const b = bcryptjs.hashSync('hunter2', 4);
    assert.match(b, /^\$2b\$04\$/);
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const hash = prefix + b.slice(4);
      assert.equal(await offloop.verifyPassword(hash, 'hunter2'), true, prefix);
      assert.equal(await offloop.verifyPassword(hash, 'hunter3'), false, prefix);
      assert.equal(offloop.needsRehash(hash), true);
      assert.deepEqual(offloop.parsePasswordHash(hash), { algorithm: 'bcrypt', cost: 4 });
    }
  });

  test('the 72-byte limit is the same as bcryptjs', async () => {
    const long = 'x'.repeat(72);
    const hash = bcryptjs.hashSync(long, 4);
    assert.equal(await offloop.verifyPassword(hash, long + 'ignored'), bcryptjs.compareSync(long + 'ignored', hash));
  });
});

describe('needsRehash / parsePasswordHash', () => {
  test('compares every parameter with the target', async () => {
    const hash = await offloop.hashPassword('pw');
    assert.equal(offloop.needsRehash(hash), false);
    assert.equal(offloop.needsRehash(hash, { memoryCost: 19456, timeCost: 2, parallelism: 1 }), false);
    assert.equal(offloop.needsRehash(hash, { memoryCost: 47104, timeCost: 1 }), true);
    assert.equal(offloop.needsRehash(hash, { algorithm: 'argon2i' }), true);
    assert.equal(offloop.needsRehash(hash, { outputLength: 64 }), true);
    assert.equal(offloop.needsRehash(hash, { parallelism: 2 }), true);
    const v16 = '$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$cpx6VEQbwTVZvcpxNIxOVUWZ5xnAipUmAe1cg2GMG70';
    assert.equal(offloop.needsRehash(v16, { memoryCost: 64, timeCost: 1 }), true);
    assert.equal(offloop.parsePasswordHash(v16).version, 16);
  });
});

describe('bad input', () => {
  const hashP = (...a) => offloop.hashPassword(...a);
  test('wrong types are TypeErrors with ERR_INVALID_ARG_TYPE, as rejections', async () => {
    for (const pw of [undefined, null, 42, {}, [], Symbol('s'), () => {}, 1n, true]) {
      const p = hashP(pw);
      assert.ok(p instanceof Promise);
      await rejectsWith(p, TypeError, 'ERR_INVALID_ARG_TYPE');
    }
    await rejectsWith(hashP('pw', 'argon2id'), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejectsWith(hashP('pw', { memoryCost: '19456' }), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejectsWith(hashP('pw', { salt: 'abcdefghijkl' }), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejectsWith(hashP('pw', { signal: {} }), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejectsWith(hashP('pw', { algorithm: 'bcrypt' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    await rejectsWith(offloop.verifyPassword(42, 'pw'), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejectsWith(offloop.verifyPassword('x', 42), TypeError, 'ERR_INVALID_ARG_TYPE');
    throwsWith(() => offloop.needsRehash(undefined), TypeError, 'ERR_INVALID_ARG_TYPE');
    throwsWith(() => offloop.parsePasswordHash(Buffer.from('$2b$')), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  test('out-of-range options are RangeErrors with ERR_OUT_OF_RANGE', async () => {
    for (const options of [
      { memoryCost: 7 }, { memoryCost: -1 }, { memoryCost: 2 ** 32 }, { memoryCost: 1.5 }, { memoryCost: NaN },
      { timeCost: 0 }, { timeCost: Infinity }, { parallelism: 0 }, { parallelism: 256 },
      { outputLength: 3 }, { outputLength: 1025 }, { memoryCost: 15, parallelism: 2 },
      { salt: Buffer.alloc(7) }, { salt: Buffer.alloc(1025) },
    ]) {
      await rejectsWith(hashP('pw', options), RangeError, 'ERR_OUT_OF_RANGE');
    }
    await rejectsWith(offloop.verifyPassword('x', 'pw', { maxMemoryCost: 0 }), RangeError, 'ERR_OUT_OF_RANGE');
    await rejectsWith(offloop.verifyPassword('x', 'pw', { maxBcryptCost: 32 }), RangeError, 'ERR_OUT_OF_RANGE');
  });

  test('malformed hashes reject with ERR_INVALID_HASH and never echo the hash or password', async () => {
    const good = await offloop.hashPassword('pw', FAST);
    const bcrypt = bcryptjs.hashSync('pw', 4);
    // The tag cut to 37 base64 characters, a length no byte string encodes. (Cut to 38 it is a valid
    // 28-byte tag whenever its 4 spare bits are zero: 16 hashes in 200, so the case was flaky.)
    for (const bad of [
      '', 'plaintext', '$argon2id$', good.slice(0, -6), good.replace('m=256', 'm=abc'), good.replace('$v=19', '$v=99'),
      good.replace('t=1', 't=0'), good + '$extra', good.replace('argon2id', 'argon2x'),
      bcrypt.slice(0, -1), bcrypt.replace('$04$', '$99$'), bcrypt.replace('$2b$', '$2x$'), bcrypt.replace('$2b$', '$3b$'),
      '$'.repeat(10000),
    ]) {
      const e = await rejectsWith(offloop.verifyPassword(bad, 'secret-password'), Error, 'ERR_INVALID_HASH');
      assert.ok(!e.message.includes('secret-password'));
      if (bad.length > 12) assert.ok(!e.message.includes(bad.slice(8)), e.message);
      throwsWith(() => offloop.parsePasswordHash(bad), Error, 'ERR_INVALID_HASH');
      throwsWith(() => offloop.needsRehash(bad), Error, 'ERR_INVALID_HASH');
    }
  });

  test('over-costly stored hashes are refused before any work', async () => {
    const huge = '$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$cpx6VEQbwTVZvcpxNIxOVUWZ5xnAipUmAe1cg2GMG70';
    const before = offloop.poolStats();
    const e = await rejectsWith(offloop.verifyPassword(huge, 'pw'), Error, 'ERR_HASH_COST_LIMIT');
    assert.match(e.message, /maxMemoryCost/);
    await rejectsWith(
      offloop.verifyPassword(huge.replace('m=4194304,t=1', 'm=64,t=4000000000'), 'pw'),
      Error,
      'ERR_HASH_COST_LIMIT',
    );
    await rejectsWith(offloop.verifyPassword(huge, 'pw', { maxMemoryCost: 1024 }), Error, 'ERR_HASH_COST_LIMIT');
    const costly = bcryptjs.hashSync('pw', 4).replace('$04$', '$20$');
    await rejectsWith(offloop.verifyPassword(costly, 'pw'), Error, 'ERR_HASH_COST_LIMIT');
    // Raising the limit runs it (and the wrong tag gives false, not an error).
    const raised = huge.replace('m=4194304', 'm=2048');
    assert.equal(await offloop.verifyPassword(raised, 'pw', { maxMemoryCost: 2048 }), false);
    assert.ok(offloop.poolStats().failed >= before.failed + 4);
  });
});
