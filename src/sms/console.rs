use async_trait::async_trait;

use super::{Message, SendError, Sender};

/// Development sender: prints the message to standard output. The one deliberate place where
/// a code is shown; production mode refuses it.
pub struct ConsoleSender;

#[async_trait]
impl Sender for ConsoleSender {
    fn name(&self) -> &'static str {
        "console"
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        println!(
            "[sesame console sender] {} to {}: {}",
            message.channel.as_str(),
            message.to,
            message.body
        );
        Ok(())
    }
}
