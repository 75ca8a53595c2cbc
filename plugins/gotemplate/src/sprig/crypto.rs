//! Hashes (real: `sha1sum`, `sha256sum`, `sha512sum`, `adler32sum`) and
//! deterministic stand-ins for Sprig's key, certificate, password and AES
//! functions: well-formed PEM text and strings of the right shape, derived
//! from the arguments and the execution's seeded random source, not valid
//! keys or certificates (see the module documentation of [`super`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::{Rng, as_items, i_arg, reg, rng, s_arg};
use crate::error::Error;
use crate::exec::Context;
use crate::funcs::Arity;
use crate::template::Templates;
use crate::value::{Object, Value};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn register(t: &mut Templates) {
    use Arity::{AtLeast, Exact};
    reg(t, "sha1sum", Exact(1), |a| {
        Ok(hex(&Sha1::digest(s_arg(&a[0])?.as_bytes())).into())
    });
    reg(t, "sha256sum", Exact(1), |a| {
        Ok(hex(&Sha256::digest(s_arg(&a[0])?.as_bytes())).into())
    });
    reg(t, "sha512sum", Exact(1), |a| {
        Ok(hex(&Sha512::digest(s_arg(&a[0])?.as_bytes())).into())
    });
    reg(t, "adler32sum", Exact(1), |a| {
        let (mut x, mut y) = (1u32, 0u32);
        for &b in s_arg(&a[0])?.as_bytes() {
            x = (x + b as u32) % 65521;
            y = (y + x) % 65521;
        }
        Ok(((y << 16) | x).to_string().into())
    });
    t.add_func("uuidv4", Exact(0), |ctx, _| {
        let r = rng(ctx);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&r.next_u64().to_be_bytes());
        b[8..].copy_from_slice(&r.next_u64().to_be_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        Ok(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
        .into())
    });
    t.add_func("randBytes", Exact(1), |ctx, a| {
        let n = i_arg(&a[0])?;
        if n < 0 {
            return Err(Error::new("randBytes: negative count"));
        }
        super::check_bytes(n as usize, "randBytes")?;
        let r = rng(ctx);
        let b: Vec<u8> = (0..n).map(|_| r.next_u64() as u8).collect();
        Ok(STANDARD.encode(b).into())
    });
    reg(t, "bcrypt", Exact(1), |a| {
        Ok(fake_bcrypt(s_arg(&a[0])?).into())
    });
    reg(t, "htpasswd", Exact(2), |a| {
        let (user, pass) = (s_arg(&a[0])?, s_arg(&a[1])?);
        if user.contains(':') {
            return Ok(format!("invalid username: {user}").into());
        }
        Ok(format!("{user}:{}", fake_bcrypt(pass)).into())
    });
    reg(t, "derivePassword", Exact(5), |a| {
        let counter = i_arg(&a[0])?;
        let (typ, pass, user, site) = (s_arg(&a[1])?, s_arg(&a[2])?, s_arg(&a[3])?, s_arg(&a[4])?);
        derive_password(counter, typ, pass, user, site)
    });
    t.add_func("genPrivateKey", Exact(1), |ctx, a| {
        let typ = s_arg(&a[0])?;
        let (label, len) = match typ {
            "rsa" => ("RSA PRIVATE KEY", 1190),
            "dsa" => ("DSA PRIVATE KEY", 445),
            "ecdsa" => ("EC PRIVATE KEY", 121),
            "ed25519" => ("PRIVATE KEY", 48),
            _ => return Ok(format!("Unknown type {typ}").into()),
        };
        Ok(pem(label, &filler(rng(ctx), typ.as_bytes(), len)).into())
    });
    t.add_func("genCA", Exact(2), |ctx, a| {
        let (cn, days) = (s_arg(&a[0])?, i_arg(&a[1])?);
        Ok(cert(ctx, &[cn.as_bytes(), &days.to_be_bytes()], None))
    });
    t.add_func("genCAWithKey", Exact(3), |ctx, a| {
        let (cn, days, key) = (s_arg(&a[0])?, i_arg(&a[1])?, s_arg(&a[2])?);
        Ok(cert(ctx, &[cn.as_bytes(), &days.to_be_bytes()], Some(key)))
    });
    t.add_func("genSelfSignedCert", Exact(4), |ctx, a| {
        let seed = cert_seed(&a)?;
        Ok(cert(ctx, &[seed.as_bytes()], None))
    });
    t.add_func("genSelfSignedCertWithKey", Exact(5), |ctx, a| {
        let seed = cert_seed(&a)?;
        Ok(cert(ctx, &[seed.as_bytes()], Some(s_arg(&a[4])?)))
    });
    t.add_func("genSignedCert", Exact(5), |ctx, a| {
        let seed = cert_seed(&a)?;
        ca_arg(&a[4])?;
        Ok(cert(ctx, &[seed.as_bytes(), b"signed"], None))
    });
    t.add_func("genSignedCertWithKey", Exact(6), |ctx, a| {
        let seed = cert_seed(&a)?;
        ca_arg(&a[4])?;
        Ok(cert(
            ctx,
            &[seed.as_bytes(), b"signed"],
            Some(s_arg(&a[5])?),
        ))
    });
    reg(t, "buildCustomCert", Exact(2), |a| {
        let decode = |v: &Value, what: &str| -> Result<String, Error> {
            let b = STANDARD
                .decode(s_arg(v)?)
                .map_err(|e| Error::new(format!("unable to decode base64 {what}: {e}")))?;
            Ok(String::from_utf8_lossy(&b).into_owned())
        };
        Ok(Value::object(Certificate {
            cert: decode(&a[0], "certificate")?,
            key: decode(&a[1], "private key")?,
        }))
    });
    reg(t, "encryptAES", Exact(2), |a| {
        let (key, text) = (s_arg(&a[0])?, s_arg(&a[1])?);
        super::check_bytes(text.len() * 2, "encryptAES")?;
        let mut data = text.as_bytes().to_vec();
        let pad = 16 - data.len() % 16;
        data.extend(std::iter::repeat_n(pad as u8, pad));
        let iv: Vec<u8> = Sha256::digest([key.as_bytes(), text.as_bytes()].concat())[..16].to_vec();
        xor_stream(key, &iv, &mut data);
        Ok(STANDARD.encode([iv, data].concat()).into())
    });
    reg(t, "decryptAES", Exact(2), |a| {
        let (key, text) = (s_arg(&a[0])?, s_arg(&a[1])?);
        let raw = STANDARD
            .decode(text)
            .map_err(|e| Error::new(e.to_string()))?;
        if raw.len() < 16 || (raw.len() - 16) % 16 != 0 {
            return Err(Error::new("crypto/cipher: input not full blocks"));
        }
        let (iv, body) = raw.split_at(16);
        let mut data = body.to_vec();
        xor_stream(key, iv, &mut data);
        if let Some(&pad) = data.last() {
            let pad = pad as usize;
            if pad == 0 || pad > 16 || pad > data.len() {
                return Err(Error::new("invalid padding"));
            }
            data.truncate(data.len() - pad);
        }
        Ok(super::strings::lossy(&data))
    });
    let _ = AtLeast(0);
}

fn xor_stream(key: &str, iv: &[u8], data: &mut [u8]) {
    for (i, chunk) in data.chunks_mut(32).enumerate() {
        let block = Sha256::digest([key.as_bytes(), iv, &(i as u64).to_be_bytes()].concat());
        for (b, k) in chunk.iter_mut().zip(block.iter()) {
            *b ^= k;
        }
    }
}

fn fake_bcrypt(pass: &str) -> String {
    const ALPHA: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let d = Sha512::digest(pass.as_bytes());
    let body: String = d
        .iter()
        .take(53)
        .map(|b| ALPHA[(*b % 64) as usize] as char)
        .collect();
    format!("$2a$10${body}")
}

fn derive_password(
    counter: i64,
    typ: &str,
    pass: &str,
    user: &str,
    site: &str,
) -> Result<Value, Error> {
    let templates: &[&str] = match typ {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return Err(Error::new(format!("cannot find password template {typ}"))),
    };
    let seed = Sha256::digest(format!("{counter}\0{pass}\0{user}\0{site}").as_bytes());
    let tpl = templates[seed[0] as usize % templates.len()];
    let class = |c: char| -> &'static str {
        match c {
            'V' => "AEIOU",
            'C' => "BCDFGHJKLMNPQRSTVWXYZ",
            'v' => "aeiou",
            'c' => "bcdfghjklmnpqrstvwxyz",
            'A' => "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
            'a' => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
            'n' => "0123456789",
            'o' => "@&%?,=[]_:-+*$#!'^~;()/.",
            _ => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        }
    };
    Ok(tpl
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let set = class(c).as_bytes();
            set[seed[(i + 1) % 32] as usize % set.len()] as char
        })
        .collect::<String>()
        .into())
}

fn cert_seed(a: &[Value]) -> Result<String, Error> {
    let cn = s_arg(&a[0])?;
    let ips = list_strings(&a[1]);
    let dns = list_strings(&a[2]);
    let days = i_arg(&a[3])?;
    Ok(format!("{cn}|{}|{}|{days}", ips.join(","), dns.join(",")))
}

fn list_strings(v: &Value) -> Vec<String> {
    as_items(v)
        .unwrap_or_default()
        .iter()
        .map(super::strval)
        .collect()
}

fn ca_arg(v: &Value) -> Result<(), Error> {
    match v {
        Value::Object(o) if o.downcast_ref::<Certificate>().is_some() => Ok(()),
        Value::Map(_) => Ok(()),
        other => Err(Error::arg_type("sprig.certificate", other)),
    }
}

/// Deterministic bytes: the arguments' hash stirred with the execution's
/// random source.
fn filler(r: &mut Rng, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut block = Sha256::digest([seed, &r.next_u64().to_be_bytes()].concat()).to_vec();
    while out.len() < len {
        out.extend_from_slice(&block);
        block = Sha256::digest(&block).to_vec();
    }
    out.truncate(len);
    out
}

/// PEM armour: base64 wrapped at 64 columns.
fn pem(label: &str, body: &[u8]) -> String {
    let b64 = STANDARD.encode(body);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn cert(ctx: &mut Context<'_>, seed: &[&[u8]], key: Option<&str>) -> Value {
    let seed = seed.concat();
    let r = rng(ctx);
    let body = filler(r, &[b"cert".as_slice(), &seed].concat(), 802);
    let key = match key {
        Some(k) => k.to_string(),
        None => pem(
            "RSA PRIVATE KEY",
            &filler(r, &[b"key".as_slice(), &seed].concat(), 1190),
        ),
    };
    Value::object(Certificate {
        cert: pem("CERTIFICATE", &body),
        key,
    })
}

/// Sprig's `certificate`: `.Cert` and `.Key`, PEM text.
pub(crate) struct Certificate {
    cert: String,
    key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> String {
        "sprig.certificate".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(self.cert.as_str().into()),
            "Key" => Some(self.key.as_str().into()),
            _ => None,
        }
    }
    fn value(&self) -> Option<Value> {
        let m = crate::value::Map::new();
        m.insert("Cert", self.cert.as_str());
        m.insert("Key", self.key.as_str());
        Some(Value::Map(m))
    }
}
