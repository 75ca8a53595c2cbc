//! Throwaway TLS material for test registries.
//!
//! oc-mirror must talk to registries whose certificate is signed by a private
//! CA (the common disconnected-install setup). To test that path honestly we
//! mint a fresh CA per registry and a server certificate for `127.0.0.1` and
//! `localhost` signed by it, so a client only succeeds if it really trusts the
//! CA it was given. Nothing here is deterministic, and nothing needs to be.

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// A CA certificate plus a server certificate and key signed by it, all PEM.
#[derive(Clone, Debug)]
pub struct TlsMaterial {
    /// The CA certificate (PEM) that clients must trust.
    pub ca_pem: String,
    /// The server certificate (PEM) for `127.0.0.1`, `::1` and `localhost`.
    pub cert_pem: String,
    /// The server's private key (PEM, PKCS#8).
    pub key_pem: String,
}

impl TlsMaterial {
    /// Generates a new CA and a server certificate signed by it.
    pub fn generate() -> anyhow::Result<TlsMaterial> {
        let ca_key = KeyPair::generate().context("generating the CA key")?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let mut ca_name = DistinguishedName::new();
        ca_name.push(DnType::CommonName, "oc-mirror-tests throwaway CA");
        ca_params.distinguished_name = ca_name;
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .context("self-signing the CA")?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().context("generating the server key")?;
        let mut server_params = CertificateParams::new(vec!["localhost".to_string()])?;
        server_params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        server_params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
        let mut server_name = DistinguishedName::new();
        server_name.push(DnType::CommonName, "127.0.0.1");
        server_params.distinguished_name = server_name;
        server_params.is_ca = IsCa::ExplicitNoCa;
        server_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .context("signing the server certificate")?;

        Ok(TlsMaterial {
            ca_pem: ca_cert.pem(),
            cert_pem: server_cert.pem(),
            key_pem: server_key.serialize_pem(),
        })
    }
}
