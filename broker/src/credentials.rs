//! Who may authenticate on the SASL listeners: PLAIN users from each listener's JAAS config,
//! SCRAM credentials from ZooKeeper's `/config/users`, cached here. The cache is loaded at
//! start-up and kept current from `/config/changes` (and reloaded whole after a ZooKeeper
//! session expiry), so a credential added on any broker works on every broker within a
//! notification's round trip.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use sasl::{CredentialStore, Mechanism, ScramCredential};

use crate::config::SaslConfig;

type UserScram = BTreeMap<Mechanism, ScramCredential>;

/// The credential cache and the per-listener stores built on it.
#[derive(Debug)]
pub struct Credentials {
    scram: Arc<ScramCache>,
    /// PLAIN users per SASL listener (upper-case name).
    plain: BTreeMap<String, Arc<BTreeMap<String, String>>>,
}

#[derive(Default)]
struct ScramCache {
    users: RwLock<HashMap<String, UserScram>>,
}

impl std::fmt::Debug for ScramCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCache").finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn new(config: &SaslConfig) -> Self {
        Credentials {
            scram: Arc::default(),
            plain: config
                .listeners
                .iter()
                .map(|(name, l)| (name.clone(), Arc::new(l.plain_users.clone())))
                .collect(),
        }
    }

    /// Applies a user's current configs (empty: the user is gone).
    pub fn set_user(&self, user: &str, config: &BTreeMap<String, String>) {
        let creds = coordinator::user_config::scram_credentials(user, config);
        let mut users = self.scram.users.write().unwrap_or_else(|e| e.into_inner());
        if creds.is_empty() {
            users.remove(user);
        } else {
            users.insert(user.to_string(), creds);
        }
    }

    /// Replaces the whole SCRAM cache (start-up, new ZooKeeper session).
    pub fn replace_all(&self, all: &[(String, BTreeMap<String, String>)]) {
        let fresh: HashMap<String, UserScram> = all
            .iter()
            .map(|(user, config)| {
                let creds = coordinator::user_config::scram_credentials(user, config);
                (user.clone(), creds)
            })
            .filter(|(_, creds)| !creds.is_empty())
            .collect();
        *self.scram.users.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    /// Reads every user's credentials from ZooKeeper into the cache.
    pub async fn reload(&self, zk: &coordinator::Zk) -> Result<usize, coordinator::ZkError> {
        let all = coordinator::user_config::all_user_configs(zk).await?;
        self.replace_all(&all);
        Ok(self
            .scram
            .users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len())
    }

    /// What the SASL mechanisms of `listener` look users up in.
    pub fn store(&self, listener: &str) -> Arc<dyn CredentialStore> {
        Arc::new(ListenerStore {
            plain: self
                .plain
                .get(&listener.to_ascii_uppercase())
                .cloned()
                .unwrap_or_default(),
            scram: self.scram.clone(),
        })
    }
}

struct ListenerStore {
    plain: Arc<BTreeMap<String, String>>,
    scram: Arc<ScramCache>,
}

impl CredentialStore for ListenerStore {
    fn plain_password(&self, user: &str) -> Option<String> {
        self.plain.get(user).cloned()
    }

    fn scram_credential(&self, mechanism: Mechanism, user: &str) -> Option<ScramCredential> {
        let users = self.scram.users.read().unwrap_or_else(|e| e.into_inner());
        users.get(user)?.get(&mechanism).cloned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn users_come_and_go() {
        let creds = Credentials::new(&SaslConfig::default());
        let c = ScramCredential::from_password(Mechanism::ScramSha512, "pw", 4096).unwrap();
        let config = BTreeMap::from([("SCRAM-SHA-512".to_string(), c.format())]);
        creds.set_user("alice", &config);
        let store = creds.store("ANY");
        assert_eq!(
            store.scram_credential(Mechanism::ScramSha512, "alice"),
            Some(c.clone())
        );
        assert_eq!(
            store.scram_credential(Mechanism::ScramSha256, "alice"),
            None
        );
        assert_eq!(store.plain_password("alice"), None);
        creds.set_user("alice", &BTreeMap::new());
        assert_eq!(
            store.scram_credential(Mechanism::ScramSha512, "alice"),
            None
        );
        creds.replace_all(&[("bob".to_string(), config)]);
        assert_eq!(
            store.scram_credential(Mechanism::ScramSha512, "bob"),
            Some(c)
        );
    }
}
