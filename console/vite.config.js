// The console is served under /console/ (locally by `python -m local`, deployed from its bucket via CloudFront).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  base: '/console/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      output: {
        manualChunks: { echarts: ['echarts'], 'element-plus': ['element-plus'] },
      },
    },
  },
})
