package io.berth.agent.image.registry;

import io.berth.agent.domain.BerthException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * What we may present to a registry: a user name and password (Basic, or exchanged for a Bearer
 * token), an identity token (an OAuth2 refresh token, exchanged at the token realm), or a registry
 * token (sent as the Bearer token itself). The same fields as CRI's AuthConfig and docker's
 * config.json.
 */
public record Credentials(String username, String password, String identityToken, String registryToken) {
    public static final Credentials ANONYMOUS = new Credentials("", "", "", "");

    public Credentials {
        username = username == null ? "" : username;
        password = password == null ? "" : password;
        identityToken = identityToken == null ? "" : identityToken;
        registryToken = registryToken == null ? "" : registryToken;
    }

    /**
     * From AuthConfig-style fields: {@code auth} is base64("user:password") and, as in docker and
     * containerd (ParseAuth), takes the place of an empty username/password.
     */
    public static Credentials of(String username, String password, String auth, String identityToken,
            String registryToken) {
        String user = username == null ? "" : username;
        String pass = password == null ? "" : password;
        if (auth != null && !auth.isEmpty() && user.isEmpty()) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(auth.trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw BerthException.invalid("auth: not valid base64");
            }
            int colon = decoded.indexOf(':');
            if (colon < 0) {
                throw BerthException.invalid("auth: expected base64 of 'user:password'");
            }
            user = decoded.substring(0, colon);
            pass = decoded.substring(colon + 1);
        }
        return new Credentials(user, pass, identityToken, registryToken);
    }

    public boolean isAnonymous() {
        return username.isEmpty() && password.isEmpty() && identityToken.isEmpty() && registryToken.isEmpty();
    }

    public boolean hasPassword() {
        return !username.isEmpty() || !password.isEmpty();
    }

    public String basicHeader() {
        return "Basic " + Base64.getEncoder().encodeToString((username + ":" + password)
                .getBytes(StandardCharsets.UTF_8));
    }

    /** For log lines and messages: who, never the secret. */
    public String describe() {
        if (!registryToken.isEmpty()) {
            return "a registry token";
        }
        if (!identityToken.isEmpty()) {
            return "an identity token" + (username.isEmpty() ? "" : " for user '" + username + "'");
        }
        return username.isEmpty() ? "no credentials" : "user '" + username + "'";
    }

    @Override
    public String toString() {
        return "Credentials[" + describe() + "]";
    }
}
