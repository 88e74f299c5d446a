//! Which controller requests the broker obeys (LeaderAndIsr, UpdateMetadata, StopReplica).
//!
//! Controller requests arrive on the listeners clients use. Kafka trusts one once its sender is
//! allowed CLUSTER_ACTION; without an authorizer it trusts any, and so did we: a client sending
//! one with a huge controller epoch raised the epoch the broker would take from then on, and
//! the broker refused its real controller ever after. Now a request is obeyed only when it
//! names the controller ZooKeeper names (`/controller` and `/controller_epoch`) and this
//! broker's current registration (its broker epoch, the czxid of `/brokers/ids/<id>`; -1,
//! "unknown", which old request versions carry, is accepted too). Any other is answered
//! STALE_BROKER_EPOCH or STALE_CONTROLLER_EPOCH and changes nothing.
//!
//! ZooKeeper is read only when a request claims what the broker has not verified yet: a
//! controller epoch newer than the newest verified one (a newly elected controller's first
//! requests), or a broker epoch newer than ours (the controller saw our new registration after
//! a session expiry before we stored its epoch). The read starts with a `sync`, so it sees
//! every write committed before the request arrived: a claim newer than what it finds is
//! bogus, an older one comes from a deposed controller. One read serves every request that
//! arrived before it started, so a flood of bogus claims costs at most one read at a time.
//!
//! The decision is the pure [`judge`] (what the broker knows) and [`judge_by`] (what ZooKeeper
//! says); [`ControllerFence::admit`] does the reading and holds the fence while an admitted
//! request is handled, so controller requests take effect one at a time and one from a deposed
//! controller cannot be applied after its successor's.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use coordinator::controller::election::{current_controller, CurrentController};
use coordinator::registration::registered_epoch_of;
use coordinator::{Zk, ZkError};
use kafka_protocol::ResponseError;
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::log_throttle::{LogThrottle, DEFAULT_INTERVAL};

/// Bound on reading ZooKeeper for one verification.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What a controller request claims: who sent it, and to which registration of this broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub controller_id: i32,
    pub controller_epoch: i32,
    /// The recipient's broker epoch as the controller knows it; -1 when not given.
    pub broker_epoch: i64,
}

/// The newest controller the broker has verified against ZooKeeper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    pub epoch: i32,
    /// Its broker id; `None` when the read that found `epoch` found no controller holding it
    /// (gone, or `/controller` read across a later election), so claims of `epoch` are checked
    /// again.
    pub id: Option<i32>,
}

impl Verified {
    /// Nothing verified yet: every real controller has an epoch of at least 1.
    pub const NONE: Verified = Verified { epoch: 0, id: None };

    /// What the broker knows after reading `current` from ZooKeeper (epochs only grow).
    pub fn learn(self, current: CurrentController) -> Verified {
        let newer = current.epoch > self.epoch;
        let named = current.epoch == self.epoch && self.id.is_none();
        if newer || named {
            Verified {
                epoch: current.epoch,
                id: current.id,
            }
        } else {
            self
        }
    }
}

/// What ZooKeeper said, read after the request arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZkFacts {
    pub controller: CurrentController,
    /// This broker's registration epoch; `None` when it has none.
    pub registration: Option<i64>,
}

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stale {
    /// Not from the controller ZooKeeper names.
    ControllerEpoch,
    /// Not for this broker's current registration.
    BrokerEpoch,
}

impl Stale {
    /// The error code the request is answered with.
    pub fn error(self) -> ResponseError {
        match self {
            Stale::ControllerEpoch => ResponseError::StaleControllerEpoch,
            Stale::BrokerEpoch => ResponseError::StaleBrokerEpoch,
        }
    }
}

/// The decision from what the broker knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Refuse(Stale),
    /// The claim is newer than what the broker has verified: ask ZooKeeper ([`judge_by`]).
    ReadZooKeeper,
}

/// Judges `claim` by the verified controller and our broker epoch `mine`. As in Kafka, an
/// older registration is refused before the controller is looked at.
pub fn judge(claim: &Claim, verified: Verified, mine: i64) -> Verdict {
    if claim.broker_epoch != -1 && claim.broker_epoch < mine {
        return Verdict::Refuse(Stale::BrokerEpoch);
    }
    if claim.controller_epoch < verified.epoch {
        return Verdict::Refuse(Stale::ControllerEpoch);
    }
    if claim.controller_epoch > verified.epoch {
        return Verdict::ReadZooKeeper;
    }
    match verified.id {
        Some(id) if id != claim.controller_id => return Verdict::Refuse(Stale::ControllerEpoch),
        Some(_) => {}
        None => return Verdict::ReadZooKeeper,
    }
    if claim.broker_epoch == -1 || claim.broker_epoch == mine {
        Verdict::Accept
    } else {
        Verdict::ReadZooKeeper
    }
}

/// Judges `claim` by what ZooKeeper says: it must name the controller holding the current
/// epoch, and our current registration (or none, -1).
pub fn judge_by(claim: &Claim, facts: &ZkFacts, mine: i64) -> Result<(), Stale> {
    let controller = facts.controller;
    if claim.controller_epoch != controller.epoch || controller.id != Some(claim.controller_id) {
        return Err(Stale::ControllerEpoch);
    }
    let epoch = claim.broker_epoch;
    if epoch == -1 || epoch == mine || facts.registration == Some(epoch) {
        Ok(())
    } else {
        Err(Stale::BrokerEpoch)
    }
}

/// Where a request came from, for the warning about refused ones.
#[derive(Clone, Copy, Debug)]
pub struct Sender<'a> {
    /// The peer's address ("/127.0.0.1").
    pub host: &'a str,
    /// The client id in the request header (a controller's is `controller-<id>`).
    pub client_id: &'a str,
}

/// Why [`ControllerFence::admit`] turned a request away.
#[derive(Debug)]
pub enum Refusal {
    /// Answer with this error.
    Stale(Stale),
    /// ZooKeeper could not be read, so the claim could not be checked. The connection should be
    /// closed: a controller sends the request again on a new one.
    Unverified(String),
}

/// Proof that a controller request was admitted; the fence stays held until it is dropped.
#[derive(Debug)]
pub struct Admitted<'a> {
    _held: MutexGuard<'a, State>,
}

#[derive(Debug)]
struct State {
    verified: Verified,
    /// The last ZooKeeper read: when it started, and what it found.
    last_read: Option<(Instant, ZkFacts)>,
}

/// This broker's registration and the controller it obeys (see the module docs).
#[derive(Debug)]
pub struct ControllerFence {
    broker_id: i32,
    /// The czxid of our current `/brokers/ids/<id>` registration.
    broker_epoch: AtomicI64,
    state: Mutex<State>,
    refusals: LogThrottle,
}

impl ControllerFence {
    /// The fence of broker `broker_id`, registered with `broker_epoch`.
    pub fn new(broker_id: i32, broker_epoch: i64) -> Self {
        ControllerFence {
            broker_id,
            broker_epoch: AtomicI64::new(broker_epoch),
            state: Mutex::new(State {
                verified: Verified::NONE,
                last_read: None,
            }),
            refusals: LogThrottle::new(DEFAULT_INTERVAL),
        }
    }

    /// The broker epoch of our current registration.
    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::Acquire)
    }

    /// Records our new registration (after a session expiry).
    pub fn set_broker_epoch(&self, epoch: i64) {
        self.broker_epoch.store(epoch, Ordering::Release);
    }

    /// Admits a controller request claiming `claim`, reading ZooKeeper through `zk` if the
    /// claim is not verified yet. `sender` is named in the (rate-limited) warning about
    /// refused requests.
    pub async fn admit(
        &self,
        zk: &Zk,
        claim: Claim,
        sender: Sender<'_>,
    ) -> Result<Admitted<'_>, Refusal> {
        let arrived = Instant::now();
        let mut state = self.state.lock().await;
        let mine = self.broker_epoch();
        let decided = match judge(&claim, state.verified, mine) {
            Verdict::Accept => Ok(()),
            Verdict::Refuse(stale) => Err(stale),
            Verdict::ReadZooKeeper => {
                let facts = match state.last_read {
                    // A read that started after the request arrived saw what its sender had
                    // committed before sending it.
                    Some((started, facts)) if started >= arrived => facts,
                    _ => {
                        let started = Instant::now();
                        let facts = self.read(zk).await.map_err(Refusal::Unverified)?;
                        state.last_read = Some((started, facts));
                        facts
                    }
                };
                state.verified = state.verified.learn(facts.controller);
                judge_by(&claim, &facts, mine)
            }
        };
        match decided {
            Ok(()) => Ok(Admitted { _held: state }),
            Err(stale) => {
                self.log_refusal(&claim, stale, state.verified, mine, sender);
                Err(Refusal::Stale(stale))
            }
        }
    }

    /// Reads the controller and our registration, after a `sync`.
    async fn read(&self, zk: &Zk) -> Result<ZkFacts, String> {
        let reading = async {
            zk.sync().await?;
            let (controller, registration) = futures::try_join!(
                current_controller(zk),
                registered_epoch_of(zk, self.broker_id)
            )?;
            Ok::<_, ZkError>(ZkFacts {
                controller,
                registration,
            })
        };
        match tokio::time::timeout(READ_TIMEOUT, reading).await {
            Ok(Ok(facts)) => Ok(facts),
            Ok(Err(e)) => Err(format!("cannot check a controller request: {e}")),
            Err(_) => Err(format!(
                "cannot check a controller request: ZooKeeper did not answer within {READ_TIMEOUT:?}"
            )),
        }
    }

    fn log_refusal(
        &self,
        claim: &Claim,
        stale: Stale,
        verified: Verified,
        mine: i64,
        sender: Sender<'_>,
    ) {
        let (peer, client_id) = (sender.host, sender.client_id);
        let error = stale.error();
        debug!(
            peer,
            client_id,
            ?claim,
            ?error,
            "refused a controller request"
        );
        if let Some(skipped) = self.refusals.admit() {
            warn!(
                peer,
                client_id,
                ?claim,
                ?error,
                controller = ?verified.id,
                controller_epoch = verified.epoch,
                broker_epoch = mine,
                skipped,
                "refused a controller request: it does not name the controller ZooKeeper names \
                 and our current registration (at most one such line per {DEFAULT_INTERVAL:?}; \
                 `skipped` counts those left out before this one)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINE: i64 = 0x1_0000_0020;

    fn claim(controller_id: i32, controller_epoch: i32, broker_epoch: i64) -> Claim {
        Claim {
            controller_id,
            controller_epoch,
            broker_epoch,
        }
    }

    fn verified(epoch: i32, id: i32) -> Verified {
        Verified {
            epoch,
            id: Some(id),
        }
    }

    fn facts(epoch: i32, id: Option<i32>, registration: Option<i64>) -> ZkFacts {
        ZkFacts {
            controller: CurrentController { epoch, id },
            registration,
        }
    }

    #[test]
    fn the_verified_controller_is_accepted_without_reading_zookeeper() {
        let v = verified(3, 2);
        assert_eq!(judge(&claim(2, 3, MINE), v, MINE), Verdict::Accept);
        assert_eq!(judge(&claim(2, 3, -1), v, MINE), Verdict::Accept);
    }

    #[test]
    fn older_epochs_and_other_ids_are_refused_without_reading_zookeeper() {
        let v = verified(3, 2);
        let stale = Verdict::Refuse(Stale::ControllerEpoch);
        assert_eq!(judge(&claim(2, 2, MINE), v, MINE), stale);
        assert_eq!(judge(&claim(1, 3, MINE), v, MINE), stale);
        assert_eq!(judge(&claim(2, i32::MIN, -1), v, MINE), stale);
    }

    #[test]
    fn an_older_registration_is_refused_first() {
        let v = verified(3, 2);
        let stale = Verdict::Refuse(Stale::BrokerEpoch);
        assert_eq!(judge(&claim(2, 3, MINE - 1), v, MINE), stale);
        assert_eq!(judge(&claim(2, 99, 0), v, MINE), stale);
        assert_eq!(judge(&claim(2, 3, i64::MIN), v, MINE), stale);
    }

    #[test]
    fn newer_claims_are_checked_in_zookeeper() {
        let v = verified(3, 2);
        let read = Verdict::ReadZooKeeper;
        // A new controller's first request; a bogus one looks the same from here.
        assert_eq!(judge(&claim(1, 4, MINE), v, MINE), read);
        assert_eq!(judge(&claim(7, i32::MAX, -1), v, MINE), read);
        // A newer registration of ours than we know (a re-registration under way).
        assert_eq!(judge(&claim(2, 3, MINE + 5), v, MINE), read);
        // Nothing verified yet, or no controller named for the epoch when last read.
        assert_eq!(judge(&claim(1, 1, MINE), Verified::NONE, MINE), read);
        let unnamed = Verified { epoch: 3, id: None };
        assert_eq!(judge(&claim(2, 3, MINE), unnamed, MINE), read);
    }

    #[test]
    fn zookeeper_decides_newer_claims() {
        let now = facts(4, Some(1), Some(MINE));
        assert_eq!(judge_by(&claim(1, 4, MINE), &now, MINE), Ok(()));
        assert_eq!(judge_by(&claim(1, 4, -1), &now, MINE), Ok(()));
        let stale = Err(Stale::ControllerEpoch);
        // Newer than ZooKeeper's epoch: bogus.
        assert_eq!(judge_by(&claim(1, 5, MINE), &now, MINE), stale);
        assert_eq!(judge_by(&claim(1, i32::MAX, -1), &now, MINE), stale);
        // The current epoch from another broker, or an older epoch (a deposed controller).
        assert_eq!(judge_by(&claim(2, 4, MINE), &now, MINE), stale);
        assert_eq!(judge_by(&claim(1, 3, MINE), &now, MINE), stale);
        // The epoch's controller is gone.
        let gone = facts(4, None, Some(MINE));
        assert_eq!(judge_by(&claim(1, 4, MINE), &gone, MINE), stale);
    }

    #[test]
    fn zookeeper_decides_newer_registrations() {
        // The controller saw our re-registration before we stored its epoch.
        let renewed = facts(4, Some(1), Some(MINE + 7));
        assert_eq!(judge_by(&claim(1, 4, MINE + 7), &renewed, MINE), Ok(()));
        let stale = Err(Stale::BrokerEpoch);
        assert_eq!(judge_by(&claim(1, 4, MINE + 8), &renewed, MINE), stale);
        let unregistered = facts(4, Some(1), None);
        assert_eq!(judge_by(&claim(1, 4, MINE + 7), &unregistered, MINE), stale);
        // The controller is checked first.
        let bogus = judge_by(&claim(1, 5, MINE + 8), &renewed, MINE);
        assert_eq!(bogus, Err(Stale::ControllerEpoch));
    }

    #[test]
    fn what_zookeeper_says_is_learned_and_epochs_only_grow() {
        let v = verified(3, 2);
        let named = CurrentController {
            epoch: 4,
            id: Some(1),
        };
        assert_eq!(v.learn(named), verified(4, 1));
        let older = CurrentController {
            epoch: 2,
            id: Some(5),
        };
        assert_eq!(v.learn(older), v);
        let unnamed = CurrentController { epoch: 5, id: None };
        let learned = v.learn(unnamed);
        assert_eq!(learned, Verified { epoch: 5, id: None });
        // An epoch read without its controller is completed by a later read.
        let completed = CurrentController {
            epoch: 5,
            id: Some(3),
        };
        assert_eq!(learned.learn(completed), verified(5, 3));
        assert_eq!(verified(5, 3).learn(unnamed), verified(5, 3));
    }
}
