//! ControlledShutdown on the active controller (Kafka's `KafkaController.doControlledShutdown`).

use super::active::Active;
use super::channel::ControllerRequest;
use super::decisions;
use super::requests;
use super::view::TopicPartition;
use crate::error::ControllerError;

impl Active {
    /// Puts `broker_id` in the shutting-down set, moves leadership of its replicated partitions
    /// to other ISR members, takes it out of the ISRs it is in, stops its follower replicas and
    /// returns the replicated partitions it still leads.
    pub(super) async fn on_controlled_shutdown(
        &mut self,
        broker_id: i32,
        broker_epoch: i64,
    ) -> Result<Vec<TopicPartition>, ControllerError> {
        let Some(current) = self.view.live.get(&broker_id).map(|b| b.epoch) else {
            return Err(ControllerError::BrokerNotAvailable(broker_id));
        };
        // Only the broker's current registration may ask. Kafka also takes -1 (v0-1 carry no
        // epoch) and newer epochs, which lets any client reaching the controller mark a broker
        // shutting down, so that it leads nothing and joins no ISR until it re-registers. Our
        // brokers always send their epoch; one whose re-registration the controller has not
        // seen yet is refused and asks again.
        if broker_epoch != current {
            return Err(ControllerError::StaleBrokerEpoch {
                id: broker_id,
                given: broker_epoch,
                current,
            });
        }
        tracing::info!(broker = broker_id, "controlled shutdown requested");
        self.view.shutting_down.insert(broker_id);
        let changes = decisions::controlled_shutdown(&self.view, broker_id);
        self.apply_retrying(changes, move |v| {
            decisions::controlled_shutdown(v, broker_id)
        })
        .await?;
        let followed = decisions::partitions_followed_by(&self.view, broker_id);
        if !followed.is_empty() {
            let request = requests::stop_replica(&self.view, current, &followed, false);
            self.channels.send(
                broker_id,
                ControllerRequest::StopReplica {
                    request,
                    reply: None,
                },
            );
        }
        let remaining = decisions::replicated_partitions_led_by(&self.view, broker_id);
        tracing::info!(
            broker = broker_id,
            remaining = remaining.len(),
            "controlled shutdown handled"
        );
        Ok(remaining)
    }
}
