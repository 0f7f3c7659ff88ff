import AbmWire
import CampaignRuntime
import ZeroMQ
