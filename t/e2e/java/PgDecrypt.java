// t/e2e/java/PgDecrypt.java: the PostgreSQL JDBC driver through acra server: a plain
// Statement, a PreparedStatement (server-side prepared after prepareThreshold runs, binary
// transfer for bytea), clientA's values decrypted, clientB's unchanged.
// usage: java -cp postgresql.jar:. PgDecrypt URL USER PASSWORD   (PA_S, PA_B, B_HEX env)
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Properties;

public class PgDecrypt {
    static void expect(byte[] got, byte[] want, String what) {
        if (!Arrays.equals(got, want)) {
            System.err.println("not ok - " + what + ": got "
                    + (got == null ? "null" : HexFormat.of().formatHex(got)));
            System.exit(1);
        }
        System.out.println("ok - " + what);
    }

    public static void main(String[] a) throws Exception {
        byte[] pas = System.getenv("PA_S").getBytes("UTF-8");
        byte[] pab = System.getenv("PA_B").getBytes("UTF-8");
        byte[] bval = HexFormat.of().parseHex(System.getenv("B_HEX"));
        Properties p = new Properties();
        p.setProperty("user", a[1]);
        p.setProperty("password", a[2]);
        p.setProperty("sslmode", "disable");
        p.setProperty("prepareThreshold", "1");
        try (Connection c = DriverManager.getConnection(a[0], p)) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT b FROM enc WHERE id = 1")) {
                rs.next();
                expect(rs.getBytes(1), pas, "JDBC Statement: AcraStruct decrypted");
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT b FROM enc WHERE id = ?")) {
                for (int i = 0; i < 50; i++) {
                    ps.setInt(1, 1 + i % 2);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        byte[] got = rs.getBytes(1);
                        if (!Arrays.equals(got, i % 2 == 0 ? pas : pab)) {
                            expect(got, i % 2 == 0 ? pas : pab, "JDBC PreparedStatement run " + i);
                        }
                    }
                }
                System.out.println("ok - JDBC PreparedStatement (server-prepared, binary) 50 runs decrypted");
                ps.setInt(1, 3);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    expect(rs.getBytes(1), bval, "JDBC: clientB's value unchanged");
                }
            }
        }
    }
}
