//! [`TestPki`]: a CA with a server and a client certificate it signed, made fresh by every test,
//! so no key material is ever committed.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A CA, a server certificate it signed for `127.0.0.1` and `localhost`, and a client
/// certificate (for mutual TLS), written as PEM files (`ca.pem`, `server.pem`, `server.key`,
/// `client.pem`, `client.key`) into a directory.
pub struct TestPki {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TestPki {
    /// Makes a new CA and server certificate and writes them into `dir` (created if missing).
    pub fn create(dir: &Path) -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "strata test CA");
        let ca_pem = ca_params
            .self_signed(&ca_key)
            .expect("CA certificate")
            .pem();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().expect("server key");
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params");
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let client_key = KeyPair::generate().expect("client key");
        let mut client_params =
            CertificateParams::new(vec!["strata-api".to_owned()]).expect("client params");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params
            .signed_by(&client_key, &issuer)
            .expect("client certificate");
        std::fs::create_dir_all(dir).expect("pki dir");
        let pki = TestPki {
            ca_pem,
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        };
        std::fs::write(&pki.client_cert, client_cert.pem()).expect("write client certificate");
        std::fs::write(&pki.client_key, client_key.serialize_pem()).expect("write client key");
        std::fs::write(&pki.ca, &pki.ca_pem).expect("write CA");
        std::fs::write(&pki.cert, cert.pem()).expect("write certificate");
        std::fs::write(&pki.key, key.serialize_pem()).expect("write key");
        pki
    }
}
