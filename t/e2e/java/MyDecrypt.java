// t/e2e/java/MyDecrypt.java: MariaDB Connector/J through acra server --mysql_enable: a plain
// Statement (text rows) and a server-side PreparedStatement (useServerPrepStmts: binary
// rows), clientA's values decrypted, clientB's unchanged compared with a direct connection.
// usage: java -cp mariadb-java-client.jar:. MyDecrypt ACRA_URL DIRECT_URL USER PASSWORD
//        (PA_S, PA_B in the environment)
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Properties;

public class MyDecrypt {
    static void expect(byte[] got, byte[] want, String what) {
        if (!Arrays.equals(got, want)) {
            System.err.println("not ok - " + what + ": got "
                    + (got == null ? "null" : HexFormat.of().formatHex(got)));
            System.exit(1);
        }
        System.out.println("ok - " + what);
    }

    static byte[] one(Connection c, String sql) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getBytes(1);
        }
    }

    public static void main(String[] a) throws Exception {
        byte[] pas = System.getenv("PA_S").getBytes("UTF-8");
        byte[] pab = System.getenv("PA_B").getBytes("UTF-8");
        Properties p = new Properties();
        p.setProperty("user", a[2]);
        p.setProperty("password", a[3]);
        p.setProperty("useServerPrepStmts", "true");
        try (Connection c = DriverManager.getConnection(a[0], p);
             Connection d = DriverManager.getConnection(a[1], p)) {
            expect(one(c, "SELECT b FROM enc WHERE id = 1"), pas,
                    "Connector/J Statement: AcraStruct decrypted");
            try (PreparedStatement ps = c.prepareStatement("SELECT b FROM enc WHERE id = ?")) {
                for (int i = 0; i < 50; i++) {
                    ps.setInt(1, 1 + i % 2);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        byte[] got = rs.getBytes(1);
                        if (!Arrays.equals(got, i % 2 == 0 ? pas : pab)) {
                            expect(got, i % 2 == 0 ? pas : pab, "PreparedStatement run " + i);
                        }
                    }
                }
                System.out.println("ok - Connector/J server-prepared statement: 50 runs decrypted");
            }
            expect(one(c, "SELECT b FROM enc WHERE id = 3"), one(d, "SELECT b FROM enc WHERE id = 3"),
                    "Connector/J: clientB's AcraStruct unchanged");
            try (PreparedStatement ps = c.prepareStatement("SELECT b FROM enc WHERE id = ? OR id = ?")) {
                ps.setInt(1, 4);
                ps.setNull(2, java.sql.Types.INTEGER);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    expect(rs.getBytes(1), one(d, "SELECT b FROM enc WHERE id = 4"),
                            "Connector/J: clientB's AcraBlock unchanged (binary row, NULL parameter)");
                }
            }
        }
    }
}
