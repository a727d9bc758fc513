"""SQS consumer of OutboundMessagesQueue: sends subscription messages through WeChat, one grant each."""

from storeloop.services import messages
from storeloop.settings import get_settings
from storeloop.tasks import sqs_message_handler, time_left

# One access-token read per batch: a sender per batch, which delivers each message's body.
lambda_handler = sqs_message_handler(
    lambda context: messages.outbound_sender(get_settings(), time_left(context)).deliver)
