//! [`Credentials`]: what a lookup finds, with its secret kept out of every
//! `Debug` and `Display` output.
//!
//! Auth files and credential helpers both produce these; keeping the secret
//! in one wrapper type ([`Secret`]) means no log line or error message can
//! show it by accident.

use std::fmt;

use oci_client::secrets::RegistryAuth;

/// The user name helpers (and auth files) use to mark an identity token.
pub(super) const TOKEN_USERNAME: &str = "<token>";

/// A secret string whose `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Secret(pub(super) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What the secret in [`Credentials`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A password (or an access token used in its place).
    Password,
    /// An OAuth2 identity (refresh) token, as written by `docker login` for
    /// some registries or returned by a helper with user name `<token>`.
    IdentityToken,
}

/// A username and secret for one registry; Debug and Display never show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name; `<token>` when an identity token came without one.
    pub username: String,
    pub(super) secret: Secret,
    /// Whether the secret is a password or an identity token.
    pub kind: CredentialKind,
}

impl Credentials {
    /// Builds credentials from parts, e.g. for credentials given on the
    /// command line rather than found in a file.
    pub fn new(
        username: impl Into<String>,
        secret: impl Into<String>,
        kind: CredentialKind,
    ) -> Credentials {
        Credentials {
            username: username.into(),
            secret: Secret(secret.into()),
            kind,
        }
    }

    /// The password or identity token. Never log or display it.
    pub fn secret(&self) -> &str {
        &self.secret.0
    }

    /// The credentials in the form `oci-client` takes.
    ///
    /// Both kinds become HTTP Basic credentials: `oci-client` sends them to
    /// the registry's token endpoint, which is what registries that accept
    /// tokens as passwords expect. It has no OAuth2 refresh-token exchange,
    /// and an identity token is not an access token that could be sent as
    /// `Bearer`, so callers that implement that exchange should look at
    /// [`Credentials::kind`] and [`Credentials::secret`] instead.
    pub fn to_registry_auth(&self) -> RegistryAuth {
        RegistryAuth::Basic(self.username.clone(), self.secret.0.clone())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &self.secret)
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            CredentialKind::Password => "password",
            CredentialKind::IdentityToken => "identity token",
        };
        write!(f, "user `{}` with a {what}", self.username)
    }
}

#[cfg(test)]
mod tests {
    use crate::registry::auth::test_support::*;

    /// No Debug or Display output of store, credentials or oci-client auth holds a secret.
    #[tokio::test]
    async fn debug_output_never_shows_secrets() {
        let sb = Sandbox::new();
        sb.helper("test", TEST_HELPER);
        sb.write(
            "run/containers/auth.json",
            &serde_json::json!({
                "auths": {
                    "quay.io": { "auth": b64("alice:file-password") },
                    "token.example.com": { "identitytoken": "identity-secret" },
                    "fields.example.com": { "username": "carol", "password": "field-password" },
                },
                "credHelpers": { "helper.example.com": "test" },
            })
            .to_string(),
        );
        let store = sb.store();
        let creds = store
            .lookup("quay.io", "a")
            .await
            .expect("lookup")
            .expect("creds");
        let helper = store
            .lookup("helper.example.com", "a")
            .await
            .expect("lookup")
            .expect("creds");
        let texts = [
            format!("{store:?}"),
            format!("{creds:?}"),
            format!("{creds}"),
            format!("{helper:?}"),
            format!("{helper}"),
            format!("{:?}", creds.to_registry_auth()),
        ];
        for text in &texts {
            for secret in [
                "file-password",
                b64("alice:file-password").as_str(),
                "identity-secret",
                "field-password",
                "helper-secret",
            ] {
                assert!(!text.contains(secret), "{secret} leaked in {text}");
            }
        }
        assert!(texts[1].contains("alice") && texts[1].contains("<redacted>"));
        assert!(texts[0].contains("quay.io"));
    }
}
