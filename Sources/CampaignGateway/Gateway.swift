import CampaignRuntime
import ZeroMQ
