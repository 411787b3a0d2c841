/**
 * Layer rules of ../shared/ARCHITECTURE.md §1: lower layers never import higher ones; services
 * (L4) never import transport/, transaction/, dns/, a concrete stack or a concrete store; only
 * stack/drachtio imports drachtio-srf; no cycles.
 */
module.exports = {
  forbidden: [
    // Type-only imports vanish at run time, so a type-only cycle (message <-> serializer) is harmless.
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } } },
    {
      name: 'util-imports-nothing-internal',
      severity: 'error',
      from: { path: '^src/util/' },
      to: { path: '^src/(?!util/)' },
    },
    {
      name: 'sip-self-contained',
      severity: 'error',
      from: { path: '^src/sip/' },
      to: { path: '^src/(?!sip/|util/)' },
    },
    {
      name: 'documents-self-contained',
      severity: 'error',
      from: { path: '^src/documents/' },
      to: { path: '^src/(?!documents/|util/)' },
    },
    {
      name: 'config-imports-nothing-internal',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/(?!config/)' },
    },
    {
      name: 'transport-dns-only-sip',
      severity: 'error',
      from: { path: '^src/(transport|dns)/' },
      to: { path: '^src/(?!sip/|util/|transport/|dns/|stack/port\\.ts)' },
    },
    {
      name: 'transaction-only-sip-and-transport-types',
      severity: 'error',
      from: { path: '^src/transaction/' },
      to: { path: '^src/(?!sip/|util/|transaction/|transport/|stack/port\\.ts)' },
    },
    {
      name: 'stack-port-only-sip',
      severity: 'error',
      from: { path: '^src/stack/[^/]+\\.ts$' },
      to: { path: '^src/(?!sip/|util/|stack/[^/]+\\.ts$)' },
    },
    {
      name: 'services-never-import-lower-machinery',
      severity: 'error',
      from: { path: '^src/(auth|registrar|routing|events|messaging)/' },
      to: { path: '^src/(transport|transaction|dns|stack/embedded|stack/drachtio|storage/sqlite|storage/redis|server|config)/' },
    },
    {
      name: 'storage-backends-only-port-and-sip',
      severity: 'error',
      from: { path: '^src/storage/' },
      to: { path: '^src/(?!sip/|util/|storage/)' },
    },
    {
      name: 'only-drachtio-adapter-imports-drachtio-srf',
      severity: 'error',
      from: { pathNot: '^src/stack/drachtio/' },
      to: { path: 'node_modules/drachtio-srf' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
