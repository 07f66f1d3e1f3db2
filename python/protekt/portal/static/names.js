// What the product guide calls things the API names by id.

export const EVENT_NAMES = {
  "user.login.succeeded": ["User login success", "A user successfully authenticates."],
  "user.login.failed": ["User login failure", "Authentication fails."],
  "user.password_reset.requested": [
    "Password reset request",
    "A user requests a password reset.",
  ],
  "user.mfa.completed": [
    "Multi-factor authentication completion",
    "A user completes multi-factor authentication (MFA).",
  ],
  "user.registered": ["User registration", "A new user account is created."],
  "user.session.ended": [
    "Session termination",
    "A user logs out or their session expires.",
  ],
  "webhook.test": ["Test event", "Sent by Send test event."],
  "webhook.verification": ["Verification", "Sent by Verify endpoint."],
};

export const METADATA_NAMES = {
  user: ["User details", "Email, name and user ID."],
  ip: ["IP address", "The address of the authentication request."],
  device: ["Device information", "Browser and operating system."],
  location: ["Location data", "Where the request's address is."],
};

export const ENDPOINT_STATUS = {
  created: "Not verified",
  verified: "Verified, not saved",
  active: "Active",
  paused: "Paused",
  disabled: "Disabled",
};

export const DELIVERY_STATUS = {
  pending: "Pending",
  in_flight: "Sending",
  succeeded: "Delivered",
  failed: "Failed",
  dead_lettered: "Dead-lettered",
  cancelled: "Cancelled",
};

export const AUTH_NAMES = {
  shared_secret: "Shared secret",
  api_token: "API token",
};

export function eventName(type) {
  return EVENT_NAMES[type] ? EVENT_NAMES[type][0] : type;
}
